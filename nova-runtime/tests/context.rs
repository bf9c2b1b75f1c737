//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::context::{current_deadline, with_deadline};
use tokio::time::Instant;
#[tokio::test]
async fn deadline_is_visible_inside_the_scope_only() {
    assert_eq!(current_deadline(), None);
    let deadline = Instant::now() + Duration::from_secs(5);
    let seen = with_deadline(Some(deadline), async { current_deadline() }).await;
    assert_eq!(seen, Some(deadline));
    assert_eq!(current_deadline(), None);
}
