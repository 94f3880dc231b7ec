//! When a worker looks for jobs: at each notification of a new job (apalis-postgres's
//! `Pubsub`), and again a little later.
//!
//! apalis's own `StreamStrategy` wakes the worker at each notification and lets its backend
//! fetch. But a notification can arrive while a fetch is already on its way, one that began
//! before the new jobs' transaction committed (after a heartbeat, say, or another worker's
//! jobs' notification). That poll uses the notification up, the fetch comes back empty, and
//! the backend parks the worker until its next heartbeat: the jobs would wait up to 5 s for
//! this worker. So after each notification this strategy wakes the worker again after
//! [`FIRST_LOOK`], then after twice as long each time up to [`LAST_LOOK`]: a wake-up that
//! finds the worker idle starts a fetch, and the first that comes after the in-flight one
//! began after the commit, so it sees the jobs. It costs a few empty fetches after each burst
//! of notifications, none while the queue is quiet. (The benchmark's rare 5 s start had
//! another cause, a notification never sent: see `jobs::operations::start`.)

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use futures::{Stream, StreamExt as _};
use tokio::time::Sleep;

/// The first look after a notification: about as long as a fetch takes.
pub const FIRST_LOOK: Duration = Duration::from_millis(10);
/// The last: a fetch slower than this is a database in trouble, which the heartbeat covers.
pub const LAST_LOOK: Duration = Duration::from_millis(1_280);

/// A stream of notifications (each a new job), with looks again after each.
pub struct Notified<S> {
    notifications: S,
    /// The next look and how long it waited; none once the last look is done.
    look: Option<(Pin<Box<Sleep>>, Duration)>,
}

impl<S> Notified<S> {
    pub fn new(notifications: S) -> Self {
        Self {
            notifications,
            look: None,
        }
    }
}

impl<S: Stream + Unpin> PollStrategy for Notified<S> {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        match self.notifications.poll_next_unpin(cx) {
            Poll::Ready(Some(_)) => {
                // Every notification starts the looks over.
                self.look = Some((armed(FIRST_LOOK, cx), FIRST_LOOK));
                return Poll::Ready(Some(()));
            }
            // The listener is gone (the worker stops, or its connection failed).
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        let Some((sleep, waited)) = &mut self.look else {
            return Poll::Pending;
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = *waited * 2;
        self.look = (next <= LAST_LOOK).then(|| (armed(next, cx), next));
        Poll::Ready(Some(()))
    }
}

/// A sleep of `length` that wakes `cx`'s task when it ends.
fn armed(length: Duration, cx: &mut Context<'_>) -> Pin<Box<Sleep>> {
    let mut sleep = Box::pin(tokio::time::sleep(length));
    // A first poll registers the waker; a sleep that has just begun is still pending.
    let _ = sleep.as_mut().poll(cx);
    sleep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the strategy by hand: how many times it says "look" within `within`, given
    /// `notifications` at the start.
    async fn looks(notifications: usize, within: Duration) -> usize {
        let stream = futures::stream::iter(std::iter::repeat_n((), notifications))
            .chain(futures::stream::pending());
        let mut strategy = Notified::new(Box::pin(stream));
        let snapshot = PollSnapshot::default();
        let mut count = 0;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let poll = std::future::poll_fn(|cx| match strategy.poll_drive(cx, &snapshot) {
                Poll::Ready(v) => Poll::Ready(Some(v)),
                Poll::Pending => Poll::Pending,
            });
            match tokio::time::timeout_at(deadline, poll).await {
                Ok(_) => count += 1,
                Err(_) => return count,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_notification_is_followed_by_looks_that_end() {
        // Quiet: never a look.
        assert_eq!(looks(0, Duration::from_secs(60)).await, 0);
        // One notification: itself, then looks at 10, 20, 40 … 1,280 ms (8), then no more.
        assert_eq!(looks(1, Duration::from_secs(60)).await, 1 + 8);
        // A burst counts each notification, then the looks once.
        assert_eq!(looks(20, Duration::from_secs(60)).await, 20 + 8);
        // Within the first 35 ms: the notification and the looks at 10 and 30 ms.
        assert_eq!(looks(1, Duration::from_millis(35)).await, 3);
    }
}
