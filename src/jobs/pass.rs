//! One pass over a server's accounts: their commands in batches of up to `batch_accounts`
//! accounts, at most the per-server concurrency of requests in flight, each account settled
//! (done, skipped, failed) with one Warning when the server refused it. Accounts whose request
//! got no answer after the client's retries are handed back for a second pass.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use secrecy::SecretString;
use sqlx::PgConnection;

use super::reconcile::{AccountResult, Desired, reconcile_batch};
use super::{JobContext, log};
use crate::db;
use crate::db::outcomes::{Outcome as AccountOutcome, Settled};
use crate::db::provisioning::AccountRecord;
use crate::db::servers::Server;
use crate::domain::ids::{AccountId, OperationId};
use crate::domain::operation::Level;
use crate::whm::client::ServerClient;

/// The pause before a server's second pass (and before asking its version again): long
/// enough for a blip to pass, short beside the job.
pub(super) fn second_pass_pause(ctx: &JobContext) -> Duration {
    let base = ctx.whm.settings().retry_base_delay_ms;
    Duration::from_millis(base.saturating_mul(10).clamp(50, 5_000))
}

/// Warnings and failed accounts of a server's passes.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) warnings: usize,
    pub(super) failed: usize,
}

/// The accounts of each request, in the order they are sent: at most `batch_accounts` each,
/// over a number of requests that fills every one of the server's `concurrency` slots in each
/// round (so that no round runs half empty while its requests take as long as full ones), the
/// sizes differing by one at most and the larger sent first. So each slot carries an equal
/// share: 200 accounts in 12 requests are 8 of 17 then 4 of 16 (every slot 50 accounts), not
/// 11 of 17 then one of 13 (one slot 51).
fn request_sizes(accounts: usize, batch_accounts: usize, concurrency: usize) -> Vec<usize> {
    let requests = accounts.div_ceil(batch_accounts.max(1));
    let requests = requests.div_ceil(concurrency.max(1)) * concurrency.max(1);
    let requests = requests.min(accounts);
    if requests == 0 {
        return Vec::new();
    }
    let (base, larger) = (accounts / requests, accounts % requests);
    (0..requests)
        .map(|i| if i < larger { base + 1 } else { base })
        .collect()
}

/// What one pass over a server's accounts shares.
pub(super) struct Pass<'a> {
    pub(super) ctx: &'a JobContext,
    pub(super) op: OperationId,
    pub(super) server: &'a Server,
    pub(super) client: &'a ServerClient,
    pub(super) desired: &'a Desired,
    /// The accounts' link secrets ([`super::reconcile::link_tokens`]).
    pub(super) tokens: &'a HashMap<AccountId, SecretString>,
}

/// One request's accounts with their results, on their way to being settled.
type Answered = (Vec<AccountRecord>, Vec<AccountResult>);

/// Which pass over a server's accounts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Round<'a> {
    /// The first: it records the job's start ([`open`]) while its first requests are on
    /// their way, not before them.
    First { version: &'a str },
    /// The second and last, for the accounts whose request got no answer.
    Last,
}

/// Records a server's job as started, in the order the status and the log show it: the
/// accounts named in the operation, the server's progress running with them as its total,
/// its log line, and the version the server answered (when it answered).
pub(super) async fn open(
    conn: &mut PgConnection,
    op: OperationId,
    server: &Server,
    accounts: &[AccountRecord],
    version: Option<&str>,
) -> anyhow::Result<()> {
    let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
    db::outcomes::name(&mut *conn, op, server.id, &ids).await?;
    db::operations::server_started(&mut *conn, op, server.id, ids.len() as i64).await?;
    let started = format!("Server {} started: {} account(s)", server.name, ids.len());
    db::operations::log(&mut *conn, op, Level::Debug, &started, log::about(server)).await?;
    if let Some(version) = version {
        db::servers::set_version(&mut *conn, server.id, version).await?;
    }
    Ok(())
}

impl Pass<'_> {
    /// Reconciles `accounts`, `batch_accounts` per request and at most the per-server
    /// concurrency of requests in flight, settling each account as its request answers.
    /// Accounts whose request got no answer are left for a later pass (unless this is the
    /// `last`, where they fail). None: a newer operation took over.
    ///
    /// The requests never wait for the database: the accounts' link secrets are read before
    /// the first one, the first pass records the job's start while its first requests travel,
    /// and each answer is settled (warnings, outcomes, progress) by a second task while the
    /// next request of that slot is already on its way. Settling also tells whether a newer
    /// operation took over; no request starts after it says so.
    pub(super) async fn run(
        &self,
        conn: &mut PgConnection,
        accounts: Vec<AccountRecord>,
        round: Round<'_>,
        tally: &mut Tally,
    ) -> anyhow::Result<Option<Vec<AccountRecord>>> {
        let ctx = self.ctx;
        let last = matches!(round, Round::Last);
        // The first pass follows the check made once the server was locked, moments ago.
        if last && db::operations::is_superseded(&mut *conn, self.op).await? {
            return Ok(None);
        }
        let opening = match round {
            Round::First { version } => Some(version),
            Round::Last => None,
        };
        let concurrency = ctx.per_server_concurrency.max(1);
        let mut rest = accounts.as_slice();
        let chunks: Vec<Vec<AccountRecord>> =
            request_sizes(accounts.len(), ctx.batch_accounts, concurrency)
                .into_iter()
                .map(|size| {
                    let (chunk, after) = rest.split_at(size);
                    rest = after;
                    chunk.to_vec()
                })
                .collect();
        let superseded = AtomicBool::new(false);
        let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel::<Answered>();
        let requests = async {
            futures::stream::iter(chunks)
                .map(|chunk| async {
                    if superseded.load(Ordering::Relaxed) {
                        return None;
                    }
                    let results =
                        reconcile_batch(self.client, self.desired, self.tokens, &chunk).await;
                    Some((chunk, results))
                })
                .buffer_unordered(concurrency)
                .for_each(|answer| {
                    if let Some(answer) = answer {
                        // The receiver lives until every sender is gone.
                        let _ = answers.send(answer);
                    }
                    async {}
                })
                .await;
            drop(answers);
        };
        let settling = async {
            let settled = async {
                if let Some(version) = opening {
                    open(&mut *conn, self.op, self.server, &accounts, Some(version)).await?;
                }
                let mut again = Vec::new();
                while let Some((chunk, results)) = answered.recv().await {
                    let (later, warnings, failed, stop) =
                        self.settle(&mut *conn, chunk, results, last).await?;
                    if stop {
                        superseded.store(true, Ordering::Relaxed);
                    }
                    again.extend(later);
                    tally.warnings += warnings;
                    tally.failed += failed;
                }
                anyhow::Ok(again)
            }
            .await;
            if settled.is_err() {
                // No new request while the job is about to fail (the queue retries it).
                superseded.store(true, Ordering::Relaxed);
            }
            settled
        };
        let ((), again) = tokio::join!(requests, settling);
        let again = again?;
        Ok((!superseded.load(Ordering::Relaxed)).then_some(again))
    }

    /// Settles one request's accounts: answers those left for later, the warnings, the
    /// failures, and whether a newer operation took over.
    async fn settle(
        &self,
        conn: &mut PgConnection,
        chunk: Vec<AccountRecord>,
        results: Vec<AccountResult>,
        last: bool,
    ) -> anyhow::Result<(Vec<AccountRecord>, usize, usize, bool)> {
        let (mut settled, mut later) = (Vec::new(), Vec::new());
        let (mut warnings, mut failed) = (0, 0);
        for (account, result) in chunk.into_iter().zip(results) {
            let (outcome, reason) = match result {
                AccountResult::Done => (AccountOutcome::Done, None),
                AccountResult::Unreachable { .. } if !last => {
                    later.push(account);
                    continue;
                }
                AccountResult::Unreachable { message, attempts } => {
                    log::warning_words(
                        &mut *conn,
                        self.op,
                        self.server,
                        Some(&account.username),
                        &message,
                        attempts,
                    )
                    .await?;
                    (warnings, failed) = (warnings + 1, failed + 1);
                    (AccountOutcome::Failed, Some(message))
                }
                AccountResult::Refused {
                    message,
                    attempts,
                    harmless,
                } => {
                    log::warning_words(
                        &mut *conn,
                        self.op,
                        self.server,
                        Some(&account.username),
                        &message,
                        attempts,
                    )
                    .await?;
                    warnings += 1;
                    if harmless {
                        (AccountOutcome::Skipped, Some(message))
                    } else {
                        failed += 1;
                        (AccountOutcome::Failed, Some(message))
                    }
                }
            };
            settled.push(Settled {
                account_id: account.id,
                outcome,
                reason,
            });
        }
        let superseded =
            db::outcomes::settle(&mut *conn, self.op, self.server.id, &settled, warnings).await?;
        Ok((later, warnings, failed, superseded))
    }
}

#[cfg(test)]
mod tests {
    use super::request_sizes;

    #[test]
    fn requests_fill_every_slot_of_each_round_with_an_equal_share_and_never_exceed_the_batch() {
        // 200 accounts, at most 20 a request, 4 slots: 12 requests (8 of 17, 4 of 16), not 10
        // of 20, so each slot's three requests carry 50 accounts.
        let sizes = request_sizes(200, 20, 4);
        assert_eq!(sizes, [[17; 8].as_slice(), &[16; 4]].concat());
        for slot in 0..4 {
            let share: usize = sizes.iter().skip(slot).step_by(4).sum();
            assert_eq!(share, 50);
        }
        assert_eq!(request_sizes(200, 50, 4), [50; 4]);
        assert_eq!(request_sizes(3, 20, 4), [1; 3]);
        assert_eq!(request_sizes(0, 20, 4), Vec::<usize>::new());
        assert_eq!(request_sizes(1000, 20, 1), [20; 50]);
        assert_eq!(request_sizes(7, 0, 0), [1; 7]);
        for (accounts, batch, slots) in [(1, 1, 1), (201, 20, 4), (999, 17, 3), (50, 20, 8)] {
            let sizes = request_sizes(accounts, batch, slots);
            assert_eq!(sizes.iter().sum::<usize>(), accounts);
            assert!(sizes.iter().all(|&s| (1..=batch).contains(&s)));
            assert!(sizes.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
        }
    }
}
