//! HTML page → article text, title and publication time, with a streaming HTML parser
//! (Cloudflare's `lol_html`): no DOM is built, so large pages cost one pass.
//!
//! Rules: script, style, noscript, template, svg, nav, header, footer, aside, form, iframe,
//! button and common ad/share/related containers are dropped; when the page has an
//! `<article>`, only its content is kept; the first `<h1>` becomes the title candidate and is
//! not part of the body, nor is `<time>`; block elements (p, div, li, headings, br, …) start
//! new paragraphs; entities are decoded. The page `<title>`, `<h1>`, `<time datetime>` and
//! `article:published_time`/`og:title`-style meta tags fill in missing metadata.

use lol_html::{doc_text, HtmlRewriter, Selector, Settings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::LazyLock;

/// What a page yields.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HtmlExtract {
    /// Article text with `\n\n` between blocks (not yet Unicode-normalized).
    pub text: String,
    /// Title from `<h1>`, then `og:title`, then `<title>`.
    pub title: Option<String>,
    /// Publication time from `<time datetime>` or meta tags.
    pub published_at: Option<String>,
    /// `<html lang>` attribute.
    pub lang: Option<String>,
}

const SKIP_SELECTOR: &str = "script, style, noscript, template, svg, nav, header, footer, aside, \
     form, iframe, button, select, textarea, object, \
     .ad, .ads, .advert, .advertisement, .banner, .promo, .share, .social, .related, \
     .newsletter, .comments, .breadcrumbs, [aria-hidden=\"true\"], [hidden]";

const BLOCK_SELECTOR: &str = "p, div, section, li, ul, ol, br, h2, h3, h4, h5, h6, blockquote, \
     tr, table, figure, figcaption, pre, hr, dd, dt";

const META_TIME: &[&str] = &[
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publish-date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
];

/// The selectors of [`extract`], parsed once (parsing them for every page cost about a fifth
/// of the HTML path).
struct Selectors {
    skip: Selector,
    title: Selector,
    time: Selector,
    h1: Selector,
    article: Selector,
    block: Selector,
    meta: Selector,
    html: Selector,
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| {
    let parse = |s: &str| s.parse::<Selector>().expect("built-in selector is valid");
    Selectors {
        skip: parse(SKIP_SELECTOR),
        title: parse("title"),
        time: parse("time"),
        h1: parse("h1"),
        article: parse("article"),
        block: parse(BLOCK_SELECTOR),
        meta: parse("meta"),
        html: parse("html"),
    }
});

/// `lol_html::element!` with an already parsed selector.
macro_rules! element {
    ($selector:expr, $handler:expr) => {{
        // As in lol_html's macro: lets the compiler infer the handler's argument type.
        #[inline(always)]
        const fn type_hint<'h, T>(h: T) -> T
        where
            T: FnMut(&mut lol_html::html_content::Element<'_, '_>) -> lol_html::HandlerResult + 'h,
        {
            h
        }
        (
            Cow::Borrowed($selector),
            lol_html::ElementContentHandlers::default().element(type_hint($handler)),
        )
    }};
}

#[derive(Default)]
struct State {
    skip_depth: u32,
    article_depth: u32,
    h1_depth: u32,
    title_depth: u32,
    time_depth: u32,
    seen_article: bool,
    body: String,
    article: String,
    h1: Option<String>,
    h1_done: bool,
    page_title: String,
    og_title: Option<String>,
    time: Option<String>,
    meta_time: Option<String>,
    lang: Option<String>,
}

impl State {
    fn block_break(&mut self) {
        for buf in [&mut self.body, &mut self.article] {
            if !buf.is_empty() && !buf.ends_with("\n\n") {
                buf.push_str("\n\n");
            }
        }
    }
}

/// The extraction state, shared by the rewriter's handlers.
type Shared = Rc<RefCell<State>>;

/// One element handler with its selector.
type Handler = (
    Cow<'static, Selector>,
    lol_html::ElementContentHandlers<'static>,
);

/// Extracts the article from an HTML page. Never fails: malformed HTML yields what it can.
pub fn extract(html: &str) -> HtmlExtract {
    let state: Shared = Rc::new(RefCell::new(State::default()));
    let text_state = state.clone();
    let text_handler = doc_text!(move |chunk| {
        text_state.borrow_mut().text(chunk.as_str());
        Ok(())
    });
    let mut settings = Settings::new().append_document_content_handler(text_handler);
    for h in element_handlers(&state) {
        settings = settings.append_element_content_handler(h);
    }
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // lol_html only errors on memory limits or handler errors; keep whatever was extracted.
    let _ = rewriter
        .write(html.as_bytes())
        .and_then(|()| rewriter.end());
    let s = Rc::try_unwrap(state)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| std::mem::take(&mut *rc.borrow_mut()));
    s.finish()
}

/// The element handlers: depth counters for skipped, title, time, heading and article
/// elements; block breaks; meta tags; `<html lang>`.
fn element_handlers(state: &Shared) -> Vec<Handler> {
    let sel = &*SELECTORS;
    vec![
        element!(&sel.skip, depth_counter(state, |s| &mut s.skip_depth)),
        element!(&sel.title, depth_counter(state, |s| &mut s.title_depth)),
        element!(&sel.time, {
            let count = depth_counter(state, |s| &mut s.time_depth);
            let state = state.clone();
            move |el| {
                if let Some(dt) = el.get_attribute("datetime") {
                    let mut s = state.borrow_mut();
                    if s.time.is_none() && s.skip_depth == 0 {
                        s.time = Some(dt);
                    }
                }
                count(el)
            }
        }),
        element!(&sel.h1, {
            let count = depth_counter(state, |s| &mut s.h1_depth);
            let state = state.clone();
            move |el| {
                {
                    let mut s = state.borrow_mut();
                    s.block_break();
                    if s.h1.is_some() {
                        s.h1_done = true;
                    }
                }
                count(el)
            }
        }),
        element!(&sel.article, {
            let count = depth_counter(state, |s| &mut s.article_depth);
            let state = state.clone();
            move |el| {
                state.borrow_mut().seen_article = true;
                count(el)
            }
        }),
        element!(&sel.block, block_breaks(state)),
        element!(&sel.meta, {
            let state = state.clone();
            move |el| {
                state.borrow_mut().meta(el);
                Ok(())
            }
        }),
        element!(&sel.html, {
            let state = state.clone();
            move |el| {
                state.borrow_mut().lang = el.get_attribute("lang");
                Ok(())
            }
        }),
    ]
}

/// A handler that counts how deep the text is inside the matched elements (`field`).
fn depth_counter(
    state: &Shared,
    field: fn(&mut State) -> &mut u32,
) -> impl Fn(&mut lol_html::html_content::Element<'_, '_>) -> lol_html::HandlerResult + 'static {
    let st = state.clone();
    move |el| {
        if !el.can_have_content() {
            return Ok(());
        }
        *field(&mut st.borrow_mut()) += 1;
        let st2 = st.clone();
        if let Some(handlers) = el.end_tag_handlers() {
            handlers.push(Box::new(move |_end| {
                let mut s = st2.borrow_mut();
                let d = field(&mut s);
                *d = d.saturating_sub(1);
                Ok(())
            }));
        }
        Ok(())
    }
}

/// A handler that separates blocks at their start and end.
fn block_breaks(
    state: &Shared,
) -> impl FnMut(&mut lol_html::html_content::Element<'_, '_>) -> lol_html::HandlerResult + 'static {
    let st_block = state.clone();
    move |el| {
        st_block.borrow_mut().block_break();
        if el.can_have_content() {
            let st2 = st_block.clone();
            if let Some(handlers) = el.end_tag_handlers() {
                handlers.push(Box::new(
                    move |_: &mut lol_html::html_content::EndTag<'_>| {
                        st2.borrow_mut().block_break();
                        Ok(())
                    },
                ));
            }
        }
        Ok(())
    }
}

impl State {
    /// A text chunk: to the page title, the heading, or the body (and the article).
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.title_depth > 0 {
            self.page_title.push_str(text);
            return;
        }
        if self.skip_depth > 0 || self.time_depth > 0 {
            return;
        }
        if self.h1_depth > 0 {
            if !self.h1_done {
                self.h1.get_or_insert_with(String::new).push_str(text);
            }
            return;
        }
        self.body.push_str(text);
        if self.article_depth > 0 {
            self.article.push_str(text);
        }
    }

    /// A `<meta>` tag: publication time or social title.
    fn meta(&mut self, el: &lol_html::html_content::Element<'_, '_>) {
        let name = el
            .get_attribute("property")
            .or_else(|| el.get_attribute("name"))
            .or_else(|| el.get_attribute("itemprop"))
            .map(|n| n.to_ascii_lowercase());
        let (Some(name), Some(content)) = (name, el.get_attribute("content")) else {
            return;
        };
        if META_TIME.contains(&name.as_str()) && self.meta_time.is_none() {
            self.meta_time = Some(content);
        } else if (name == "og:title" || name == "twitter:title") && self.og_title.is_none() {
            self.og_title = Some(html_escape::decode_html_entities(&content).into_owned());
        }
    }

    /// What the page yielded: the article's text where an `<article>` had some, else the
    /// body's; the title from `<h1>`, `og:title`, then `<title>`.
    fn finish(self) -> HtmlExtract {
        let raw_text = if self.seen_article && !self.article.trim().is_empty() {
            self.article
        } else {
            self.body
        };
        let clean = |t: &str| {
            let decoded = html_escape::decode_html_entities(t);
            let trimmed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
            (!trimmed.is_empty()).then_some(trimmed)
        };
        let title = self
            .h1
            .as_deref()
            .and_then(clean)
            .or(self.og_title.as_deref().and_then(clean))
            .or_else(|| clean(&self.page_title));
        HtmlExtract {
            text: decode_paragraphs(&raw_text),
            title,
            published_at: self.time.or(self.meta_time),
            lang: self.lang,
        }
    }
}

/// Decodes entities and folds source whitespace inside each block (HTML whitespace is not
/// significant), keeping the `\n\n` block separators.
fn decode_paragraphs(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for block in raw.split("\n\n") {
        let decoded = html_escape::decode_html_entities(block);
        let mut first = true;
        for word in decoded.split_ascii_whitespace() {
            if first {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                first = false;
            } else {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// Whether a body that was sent as text is in fact an HTML page or fragment.
pub fn looks_like_html(body: &str) -> bool {
    let head = body.trim_start();
    let mut cut = head.len().min(512);
    while !head.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &head[..cut];
    let lower_starts = |p: &str| {
        head.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    if lower_starts("<!doctype html") || lower_starts("<html") {
        return true;
    }
    // A fragment: starts with a tag and contains a closing block tag.
    head.starts_with('<')
        && ["</p>", "</div>", "</article>", "<br", "</h1>"]
            .iter()
            .any(|t| body.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html lang="he"><head><meta charset="utf-8">
        <title>כותרת הדף | אתר</title><meta property="article:published_time" content="2024-03-01T08:00:00+02:00">
        <script>var x = "<p>not text</p>";</script><style>p{color:red}</style></head>
        <body><nav><a href="/">בית</a></nav><div class="ad">פרסומת</div>
        <article><h1>כותרת &amp; משנה</h1><time datetime="2024-03-02T10:00:00+02:00">2.3.2024</time>
        <p>פסקה   ראשונה עם &quot;ציטוט&quot;.</p><p>פסקה<br>שנייה</p></article>
        <footer>&copy; כל הזכויות</footer></body></html>"#;

    #[test]
    fn extracts_article_without_chrome() {
        let e = extract(PAGE);
        assert_eq!(e.text, "פסקה ראשונה עם \"ציטוט\".\n\nפסקה\n\nשנייה");
        assert_eq!(e.title.as_deref(), Some("כותרת & משנה"));
        assert_eq!(e.published_at.as_deref(), Some("2024-03-02T10:00:00+02:00"));
        assert_eq!(e.lang.as_deref(), Some("he"));
    }

    #[test]
    fn falls_back_to_body_meta_and_page_title() {
        let e = extract(
            "<html><head><title>Page &amp; Co</title><meta name=\"pubdate\" content=\"2024-01-01\"></head>\
             <body><div>One</div><div>Two <b>bold</b></div><script>x()</script></body></html>",
        );
        assert_eq!(e.text, "One\n\nTwo bold");
        assert_eq!(e.title.as_deref(), Some("Page & Co"));
        assert_eq!(e.published_at.as_deref(), Some("2024-01-01"));
    }

    #[test]
    fn chrome_only_page_yields_no_text() {
        let e = extract(
            "<html><body><nav>menu</nav><script>a()</script><footer>f</footer></body></html>",
        );
        assert_eq!(e.text, "");
    }

    #[test]
    fn malformed_html_does_not_fail() {
        let e = extract("<p>open <b>never closed <div>x</p></span>");
        assert!(e.text.contains("open") && e.text.contains('x'));
        let deep = "<div>".repeat(50_000) + "deep text";
        assert!(extract(&deep).text.contains("deep text"));
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html("<!DOCTYPE html><html>"));
        assert!(looks_like_html("  <p>a</p><p>b</p>"));
        assert!(!looks_like_html("a < b and c > d"));
        assert!(!looks_like_html("<3 love</p>".trim_start_matches('<')));
        // Multi-byte text around the 512-byte sniffing window.
        let long = "ח".repeat(600);
        assert!(!looks_like_html(&long));
        assert!(!looks_like_html(&format!("a{long}")));
    }
}
