//! Sending the outbox: at most one attempt per event and channel per run, within a time
//! budget for the whole run, and a failed delivery not tried again before its back-off
//! has passed (across runs, kept in the state).

use std::time::{Duration, Instant};

use stormwatch_http::{Client, Options};

use crate::channels::send;
use crate::{Channel, Event, State, StateError};

/// The longest a failed delivery waits before the next attempt.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Connection and answer timeouts (its `attempts` is ignored: one per run).
    pub http: Options,
    /// The most a run spends delivering; what is left waits for the next run.
    pub budget: Duration,
    /// The wait after a first failed delivery, doubled for each further one up to
    /// [`MAX_RETRY_AFTER`].
    pub retry_after: Duration,
}

/// What a delivery pass did.
#[derive(Debug, Default)]
pub struct Delivery {
    pub delivered: Vec<(Event, String)>,
    /// (event, channel kind, error): still queued, retried on a later run.
    pub failed: Vec<(Event, String, String)>,
    /// Queued for channels not configured in this run.
    pub waiting: usize,
    /// Failed earlier and waiting for their back-off to pass.
    pub backing_off: usize,
    /// Not attempted: the run's delivery budget was spent.
    pub over_budget: usize,
}

/// The wait after the `failures`-th failed attempt in a row.
pub fn backoff(retry_after: Duration, failures: i64) -> Duration {
    let doublings = failures.saturating_sub(1).clamp(0, 30) as u32;
    retry_after
        .saturating_mul(1u32 << doublings)
        .min(MAX_RETRY_AFTER)
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Sends every pending outbox row whose channel is configured and whose back-off has
/// passed, marking each delivered only after the receiver accepted it. Each row is tried
/// once; a receiver that answers late is not sent the event again in this run.
pub fn deliver(
    state: &State,
    channels: &[Channel],
    options: &DeliveryOptions,
    now: &dyn Fn() -> String,
) -> Result<Delivery, StateError> {
    let start = Instant::now();
    let http = Options {
        attempts: 1,
        progress: false,
        ..options.http.clone()
    };
    let client = Client::new(http.clone());
    let mut out = Delivery::default();
    for pending in state.pending()? {
        let Some(channel) = channels.iter().find(|c| c.id == pending.channel) else {
            out.waiting += 1;
            continue;
        };
        if pending.not_before > unix_now() {
            out.backing_off += 1;
            continue;
        }
        let left = options.budget.saturating_sub(start.elapsed());
        if left < Duration::from_secs(1) {
            out.over_budget += 1;
            continue;
        }
        // The last deliveries of the budget get only what remains of it.
        let result = if left < http.timeout {
            Client::new(Options {
                timeout: left,
                ..http.clone()
            })
            .map_err(|e| e.to_string())
            .and_then(|c| send(channel, &pending.event, &c))
        } else {
            match &client {
                Ok(c) => send(channel, &pending.event, c),
                Err(e) => Err(e.to_string()),
            }
        };
        let retry_at = match result {
            Ok(()) => 0,
            Err(_) => {
                let wait = backoff(options.retry_after, pending.attempts + 1);
                unix_now().saturating_add(wait.as_secs() as i64)
            }
        };
        state.attempted(
            &pending.event.id,
            &channel.id,
            result.clone(),
            &now(),
            retry_at,
        )?;
        match result {
            Ok(()) => out
                .delivered
                .push((pending.event, channel.kind().to_string())),
            Err(e) => out
                .failed
                .push((pending.event, channel.kind().to_string(), e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(300);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 3), base * 4);
        assert_eq!(backoff(base, 40), MAX_RETRY_AFTER);
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
    }
}
