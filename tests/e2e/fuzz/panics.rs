//! Panics on this test's thread, counted: the server runs on the test's current-thread runtime,
//! so a handler's panic happens here; a panic hook counts them and passes each on.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) static PANICS: AtomicUsize = AtomicUsize::new(0);
static TEST_THREAD: OnceLock<Option<String>> = OnceLock::new();

pub(super) fn count_panics() {
    let mut installed = false;
    TEST_THREAD.get_or_init(|| {
        installed = true;
        std::thread::current().name().map(String::from)
    });
    if !installed {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let here = std::thread::current().name().map(String::from);
        if here.is_some() && TEST_THREAD.get().is_some_and(|t| *t == here) {
            PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
}
