//! Tests of the command line: `process` over files and `check-config`.

use newsflow_testkit as common;

use std::process::Command;

fn newsflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_newsflow"))
}

/// `newsflow check-config --config PATH`, to run.
fn check_config(path: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = newsflow();
    c.args(["check-config", "--config"]).arg(path);
    c
}

/// Runs a `process` command that must succeed and returns the first record it wrote.
fn first_record(out: std::process::Output, out_file: &std::path::Path) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(out_file).unwrap();
    serde_json::from_str(text.lines().next().expect("a record")).unwrap()
}

#[test]
fn process_enriches_a_directory_and_writes_rejects_beside_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("batch.jsonl"),
        "{\"id\":\"a\",\"body\":\"Putin met Macron in Paris.\"}\n\n{\"id\":\"b\",\"body\":\n[1]\n{\"id\":\"a-copy\",\"body\":\"Putin  met Macron in Paris.\"}\n",
    )
    .unwrap();
    std::fs::write(
        input.join("article.txt"),
        "date 2025-08-21 ראש הממשלה נפגש אתמול בירושלים עם נציגי נאט\"ו.",
    )
    .unwrap();
    std::fs::write(input.join("binary.bin"), b"\xff\xfe\x00garbage").unwrap();
    let pretty = serde_json::to_string_pretty(
        &serde_json::json!({"id": "p", "body": "Pretty JSON from Kyiv"}),
    )
    .unwrap();
    std::fs::write(input.join("pretty.json"), pretty).unwrap();
    let output = dir.path().join("out.jsonl");
    let status = newsflow()
        .args(["process", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());

    let validator = common::schema();
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(records.len(), 4, "{ids:?}");
    let copy = records.iter().find(|r| r["id"] == "a-copy").unwrap();
    assert_eq!(
        copy["duplicate_of"]["id"], "a",
        "exact duplicate flagged, not dropped"
    );
    assert_eq!(copy["duplicate_of"]["kind"], "exact");
    assert!(records.iter().find(|r| r["id"] == "a").unwrap()["duplicate_of"].is_null());
    for r in &records {
        common::assert_valid_record(&validator, r);
        assert!(r.get("provenance").is_none());
    }
    assert!(ids.contains(&"a") && ids.contains(&"p"));
    let txt = records
        .iter()
        .find(|r| r["pipeline"]["input_format"] == "text")
        .unwrap();
    assert_eq!(txt["published_date"], "2025-08-21");
    assert!(txt["entities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["canonical"] == "NATO"));

    let rejects: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.path().join("out.jsonl.rejects.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let kinds: Vec<&str> = rejects
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(rejects.len(), 3, "{kinds:?}");
    assert!(kinds.contains(&"invalid_utf8"));
    assert_eq!(kinds.iter().filter(|k| **k == "malformed_json").count(), 1);
    let binary = rejects
        .iter()
        .find(|r| r["kind"] == "invalid_utf8")
        .unwrap();
    assert!(
        binary["payload_base64"].is_string(),
        "non-UTF-8 kept as base64"
    );
    let broken = rejects
        .iter()
        .find(|r| r["kind"] == "malformed_json")
        .unwrap();
    assert_eq!(broken["line"], 3);
    assert_eq!(broken["payload"], "{\"id\":\"b\",\"body\":");
}

#[test]
fn process_fails_clearly_on_a_missing_input() {
    let out = newsflow()
        .args([
            "process",
            "--input",
            "/nonexistent/newsflow-input",
            "--output",
            "/tmp/x.jsonl",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/newsflow-input"), "{err}");
}

#[test]
fn check_config_accepts_the_shipped_file_and_rejects_unknown_keys() {
    let ok = newsflow()
        .args(["check-config", "--config", "config/newsflow.toml"])
        .env_remove("NEWSFLOW_KAFKA__BROKERS")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("articles.raw"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pipeline]\nmax_inflight = 10\n").unwrap();
    let out = check_config(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_inflight"), "{err}");

    let secret = dir.path().join("secret.toml");
    std::fs::write(&secret, "[kafka.properties]\n\"sasl.username\" = \"svc\"\n").unwrap();
    let out = check_config(&secret)
        .env("NEWSFLOW_KAFKA__PROPERTIES__SASL_PASSWORD", "s3cr3t-value")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("s3cr3t-value") && stdout.contains("<redacted>"),
        "{stdout}"
    );
}

#[test]
fn check_config_validates_the_tagger_tier_and_its_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[tagger]\nmode = \"accurate\"\n").unwrap();
    let ok = check_config(&cfg).output().unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("tagger accurate loads"), "{stdout}");

    // An unknown tier, by file and by environment, names the key.
    std::fs::write(&cfg, "[tagger]\nmode = \"turbo\"\n").unwrap();
    let out = check_config(&cfg).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mode"));
    std::fs::write(&cfg, "").unwrap();
    let out = check_config(&cfg)
        .env("NEWSFLOW_TAGGER__MODE", "slow")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mode"));

    // A missing model file is a start-up error naming the file, not a panic.
    std::fs::write(
        &cfg,
        "[tagger]\nmode = \"accurate\"\naccurate_model = \"/nonexistent/acc.bin\"\n",
    )
    .unwrap();
    let out = check_config(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("/nonexistent/acc.bin") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn process_runs_either_tier_and_records_name_it() {
    let dir = tempfile::tempdir().unwrap();
    for tier in ["fast", "accurate"] {
        let out_file = dir.path().join(format!("{tier}.jsonl"));
        let out = newsflow()
            .args(["process", "--input", "samples/he_budget.json", "--output"])
            .arg(&out_file)
            .args(["--tagger", tier])
            .output()
            .unwrap();
        let rec = first_record(out, &out_file);
        assert_eq!(rec["pipeline"]["tagger"], tier);
        assert!(
            !rec["entities"].as_array().unwrap().is_empty(),
            "{tier}: {rec}"
        );
    }
}

#[test]
fn process_reports_watchlist_hits_and_check_config_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("clients.jsonl");
    std::fs::write(
        &list,
        "{\"id\": \"c-1\", \"type\": \"ORG\", \"names\": [\"בנק ישראל\"], \"tags\": [\"economy\"]}\n\
         {\"id\": \"p-1\", \"type\": \"PER\", \"names\": [\"נתניהו\"]}\n",
    )
    .unwrap();
    let brands = dir.path().join("brands.tsv");
    std::fs::write(&brands, "b-1\tBRAND\tZeta Widgets|זטא\n").unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[watchlists]\nfiles = [{:?}, {:?}]\n",
            list.display().to_string(),
            brands.display().to_string()
        ),
    )
    .unwrap();
    let out_file = dir.path().join("out.jsonl");
    let check_config = || check_config(&cfg).output().unwrap();
    let process = || {
        newsflow()
            .args([
                "process",
                "--input",
                "samples/he_budget.json",
                "--tagger",
                "fast",
            ])
            .arg("--output")
            .arg(&out_file)
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let ok = check_config();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("watchlist clients") && stdout.contains("2 entries"),
        "{stdout}"
    );

    let rec = first_record(process(), &out_file);
    common::assert_valid_record(&common::schema(), &rec);
    let hits = rec["watchlist_hits"].as_array().expect("hits");
    let ids: Vec<&str> = hits.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"c-1") && ids.contains(&"p-1"), "{ids:?}");
    let boi = hits.iter().find(|h| h["id"] == "c-1").unwrap();
    assert_eq!(boi["list"], "clients");
    assert_eq!(boi["text"], "בנק ישראל");
    assert_eq!(boi["tags"][0], "economy");

    // A duplicate id stops both commands with file:line.
    std::fs::write(
        &list,
        "{\"id\": \"c-1\", \"type\": \"ORG\", \"names\": [\"a\"]}\n{\"id\": \"c-1\", \"type\": \"ORG\", \"names\": [\"b\"]}\n",
    )
    .unwrap();
    let want = format!("{}:2: duplicate id", list.display());
    let bad = check_config();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(&want),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let bad = process();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains(&want));
}

/// The shipped accurate model, by absolute path (tests run from the package root).
fn shipped_model() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ner-accurate.bin")
}

#[test]
fn the_accurate_tier_runs_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let article = dir.path().join("a.json");
    std::fs::write(
        &article,
        r#"{"id":"t","body":"ראש הממשלה בנימין נתניהו נפגש היום בוושינגטון עם הנשיא ג'ו ביידן."}"#,
    )
    .unwrap();
    // No configuration, a working directory with no models/ in it: the model is found
    // (beside the binary's source tree or linked into it).
    let out = newsflow()
        .current_dir(dir.path())
        .env_remove("NEWSFLOW_MODEL_DIR")
        .env_remove("NEWSFLOW_TAGGER__ACCURATE_MODEL")
        .args([
            "process", "--tagger", "accurate", "--input", "a.json", "--output", "o.jsonl",
        ])
        .output()
        .unwrap();
    let rec = first_record(out, &dir.path().join("o.jsonl"));
    assert_eq!(rec["pipeline"]["tagger"], "accurate");
    assert!(!rec["entities"].as_array().unwrap().is_empty(), "{rec}");

    // A relative accurate_model reads against the configuration file's directory, not the
    // working directory.
    let conf_dir = dir.path().join("etc");
    std::fs::create_dir_all(conf_dir.join("m")).unwrap();
    std::fs::copy(shipped_model(), conf_dir.join("m/acc.bin")).unwrap();
    std::fs::write(
        conf_dir.join("newsflow.toml"),
        "[tagger]\nmode = \"accurate\"\naccurate_model = \"m/acc.bin\"\n",
    )
    .unwrap();
    let out = check_config("etc/newsflow.toml")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("# accurate model: etc/m/acc.bin"),
        "{stdout}"
    );
}

#[test]
fn the_model_directory_variable_comes_first_and_errors_name_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    // A broken file in $NEWSFLOW_MODEL_DIR is the one read (it is searched first), and the
    // error names it.
    std::fs::write(dir.path().join("ner-accurate.bin"), b"not a model").unwrap();
    let out = newsflow()
        .current_dir(dir.path())
        .env("NEWSFLOW_MODEL_DIR", dir.path())
        .env_remove("NEWSFLOW_TAGGER__ACCURATE_MODEL")
        .args([
            "process", "--tagger", "accurate", "--input", "x", "--output", "o.jsonl",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "{}",
            dir.path().join("ner-accurate.bin").display()
        )),
        "{err}"
    );

    // A configured file that is missing: named once, the OS error not repeated.
    let out = newsflow()
        .current_dir(dir.path())
        .env("NEWSFLOW_TAGGER__ACCURATE_MODEL", "missing.bin")
        .args([
            "process", "--tagger", "accurate", "--input", "x", "--output", "o.jsonl",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.matches("missing.bin").count(), 1, "{err}");
    assert!(!err.contains("os error"), "{err}");
    // A file that exists but cannot be read as a file: the OS error appears once.
    let out = newsflow()
        .current_dir(dir.path())
        .env("NEWSFLOW_TAGGER__ACCURATE_MODEL", dir.path())
        .args([
            "process", "--tagger", "accurate", "--input", "x", "--output", "o.jsonl",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.matches("os error").count() <= 1, "{err}");
}

/// A JSON-lines input of `n` short articles with ids `r0`, `r1`, … (every 97th malformed).
fn backfill_input(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("backfill.jsonl");
    let mut text = String::new();
    for i in 0..n {
        if i % 97 == 96 {
            text.push_str("{\"id\": broken\n");
        } else {
            text.push_str(&format!(
                "{{\"id\":\"r{i}\",\"body\":\"ראש הממשלה נפגש ביום {i} בירושלים עם שר החוץ של צרפת.\"}}\n"
            ));
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `newsflow process ARGS --input INPUT --output OUTPUT`, to run.
fn backfill(args: &[&str], input: &std::path::Path, output: &std::path::Path) -> Command {
    let mut c = newsflow();
    c.arg("process")
        .args(args)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output);
    c
}

/// The expected ids of [`backfill_input`]`(_, n)`'s output, in order.
fn backfill_ids(n: usize) -> Vec<String> {
    (0..n)
        .filter(|i| i % 97 != 96)
        .map(|i| format!("r{i}"))
        .collect()
}

/// The ids of an output file, in order; every line must be a whole JSON record.
fn output_ids(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a whole JSON line");
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn process_workers_keep_input_order_and_show_progress_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let input = backfill_input(dir.path(), 400);
    let mut outputs = Vec::new();
    for workers in ["1", "2"] {
        let out_file = dir.path().join(format!("w{workers}.jsonl"));
        let args = [
            "--tagger",
            "fast",
            "--progress-every",
            "0",
            "--workers",
            workers,
        ];
        let out = backfill(&args, &input, &out_file).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(output_ids(&out_file));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], backfill_ids(400));
    // Off a terminal, progress lines at the interval asked for (1 s), the last summary line.
    let args = ["--tagger", "accurate", "--progress-every", "1"];
    let out = backfill(&args, &input, &dir.path().join("p.jsonl"))
        .env_remove("NEWSFLOW_MODEL_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("progress: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("articles (") && line.contains("% of input bytes"),
        "{line}"
    );
}

#[test]
fn process_stops_cleanly_on_ctrl_c_and_resumes_where_it_said() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let n = 800;
    let input = backfill_input(dir.path(), n);
    let output = dir.path().join("out.jsonl");
    let args = [
        "--tagger",
        "accurate",
        "--workers",
        "2",
        "--progress-every",
        "1",
    ];
    let mut child = backfill(&args, &input, &output)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.starts_with("progress: ") {
            break;
        }
        line.clear();
    }
    assert!(
        seen.contains("progress: "),
        "no progress line before the end: {seen}"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130), "{seen}{rest}");
    let skip: usize = rest
        .split("--skip ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no resume hint: {rest}"));
    assert!(skip > 0 && skip < n, "stopped at {skip} of {n}: {rest}");
    // What was written is whole lines, exactly the first `skip` records.
    let done = output_ids(&output);
    let rejects = std::fs::read_to_string(newsflow::process::rejects_path(&output)).unwrap();
    assert_eq!(done.len() + rejects.lines().count(), skip);
    // Resuming as told completes the run: every record once, in input order.
    let skip_arg = skip.to_string();
    let args = [
        "--tagger",
        "accurate",
        "--workers",
        "2",
        "--skip",
        &skip_arg,
        "--append",
    ];
    let out = backfill(&args, &input, &output).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(output_ids(&output), backfill_ids(n));
    let rejects = std::fs::read_to_string(newsflow::process::rejects_path(&output)).unwrap();
    assert_eq!(rejects.lines().count(), n / 97);
}

#[test]
fn process_draws_a_progress_bar_on_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: no `script` command to give the process a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = backfill_input(dir.path(), 300);
    let command = format!(
        "{} process --tagger accurate --input {} --output {}",
        env!("CARGO_BIN_EXE_newsflow"),
        input.display(),
        dir.path().join("o.jsonl").display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("ETA") && screen.contains("articles ("),
        "{screen}"
    );
    assert!(screen.contains("100%"), "the bar ends full: {screen}");
    assert!(
        !screen.contains("progress: "),
        "no log lines on a terminal: {screen}"
    );
}
