//! Threads for loading large lists: chunked parallel work, a two-thread sort, and handing
//! freed memory back to the operating system.

use super::WatchlistError;

/// Hands the memory freed after a large load (file text, parsed entries, sort buffers:
/// several times the compiled lists) back to the operating system, so that a reload does
/// not leave the service's resident size at its peak (glibc keeps freed memory otherwise).
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `f(start, chunk)` for the `parts` chunks of `items` (`start`: the chunk's index in
/// `items`), each on its own thread (on the calling thread when `parts` is 1); the results
/// in chunk order. `what` names the threads in the error a panic becomes.
pub(crate) fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    parts: usize,
    what: &str,
    f: impl Fn(usize, &[T]) -> R + Sync,
) -> Result<Vec<R>, WatchlistError> {
    let size = items.len().div_ceil(parts.max(1)).max(1);
    if parts <= 1 {
        return Ok(vec![f(0, items)]);
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(size)
            .enumerate()
            .map(|(k, c)| s.spawn(move || f(k * size, c)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| WatchlistError::Build(format!("{what} thread panicked")))
            })
            .collect()
    })
}

/// Sorts on two threads when the vector is large (the keys of a million entries take
/// ~2 s to sort on one).
pub(super) fn par_sort<T: Ord + Send>(v: &mut Vec<T>) {
    if v.len() < 100_000 || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        v.sort_unstable();
        return;
    }
    let mut right = v.split_off(v.len() / 2);
    std::thread::scope(|s| {
        s.spawn(|| right.sort_unstable());
        v.sort_unstable();
    });
    let left = std::mem::take(v);
    v.reserve(left.len() + right.len());
    let (mut a, mut b) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        v.extend(if take_a { a.next() } else { b.next() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_sort_sorts() {
        let mut v: Vec<u64> = (0..250_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1000)
            .collect();
        let mut want = v.clone();
        want.sort_unstable();
        par_sort(&mut v);
        assert_eq!(v, want);
    }
}
