//! DNS record-set changes (`Route::Dns`, field [`FIELD_RRSET`]) through the executor, in one
//! of two modes per zone (`docs/dns-updates.md`):
//! - automatic: `[dns.update]` names the zone's primary and a TSIG key; the change is one
//!   signed RFC 2136 UPDATE ([`crate::dns::update::Updater`]);
//! - instructions: no update is configured for the zone; the exact steps for the DNS host are
//!   handed to the caller to print, then the zone's authoritative servers are watched until
//!   every one serves `after`, or the deadline passes.
//!
//! The read-back (reconcile, ambiguous failures, the watch) asks every authoritative server of
//! the zone (found through NS, asked without recursion), never a recursive cache: a cache
//! answers with a TTL counting down and may hold the old set for its whole TTL.

use std::sync::Arc;
use std::time::Duration;

use crate::dns::RecordKind;
use crate::dns::model::AnswerStatus;
use crate::dns::monitor::Target;
use crate::dns::targets;
use crate::dns::update::{UpdateError, Updater, normalise_value, owner};
use crate::plan::change::{Change, FIELD_RRSET, Route, RrSet};

use super::reconcile::Live;

/// Default time the watch waits for a change made by hand (`cutover apply --dns-wait`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30 * 60);
/// Default pause between two reads of the authoritative servers while watching.
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// Where instructions for the DNS host go (the CLI prints them at once).
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

/// How DNS changes are applied and read back.
pub struct DnsWriter {
    /// Zones with `[dns.update]`: changed automatically.
    updaters: Vec<Updater>,
    /// How the zone's authoritative servers are found (the resolvers of `cutover dns`).
    resolvers: targets::Plan,
    /// Pause between reads while watching (bounded by the deadline).
    poll: Duration,
    /// How long a change made by hand is waited for.
    wait: Duration,
    say: Say,
}

/// A DNS change answered (automatic) or seen (instructions).
pub(crate) struct Done {
    pub request_id: Option<String>,
    pub action: String,
}

/// A DNS change not (known to be) in effect.
pub(crate) struct NotDone {
    pub error: String,
    pub ambiguous: bool,
}

impl DnsWriter {
    pub fn new(resolvers: targets::Plan, say: Say) -> DnsWriter {
        DnsWriter {
            updaters: Vec::new(),
            resolvers,
            poll: DEFAULT_POLL,
            wait: DEFAULT_WAIT,
            say,
        }
    }

    /// Change the updater's zone automatically.
    pub fn with_updater(mut self, updater: Updater) -> DnsWriter {
        self.updaters.push(updater);
        self
    }

    /// Pause between reads while watching, and how long to watch (`--dns-wait`).
    pub fn watch(mut self, poll: Duration, wait: Duration) -> DnsWriter {
        self.poll = poll.max(Duration::from_millis(50));
        self.wait = wait;
        self
    }

    /// How a change in `zone` is made, for the journal.
    pub fn mode(&self, zone: &str) -> &'static str {
        match self.updater(zone) {
            Some(_) => "RFC 2136 update",
            None => "instructions for the DNS host",
        }
    }

    fn updater(&self, zone: &str) -> Option<&Updater> {
        let zone = crate::dns::normalize_name(zone);
        self.updaters.iter().find(|u| u.zone() == zone)
    }

    /// The zone's authoritative servers, found through NS as `cutover dns` finds them.
    async fn authoritative(&self, zone: &str) -> Result<Vec<Target>, String> {
        let planned = targets::plan(zone, &self.resolvers)
            .await
            .map_err(|e| format!("cannot find the authoritative servers of {zone}: {e}"))?;
        let auth: Vec<Target> = planned
            .targets
            .into_iter()
            .filter(|t| t.authoritative)
            .collect();
        if auth.is_empty() {
            return Err(format!(
                "no authoritative server of {zone} found through NS; cannot read the zone"
            ));
        }
        Ok(auth)
    }

    /// Every authoritative server's answer compared with `after`: how many servers there are
    /// and, for those not (yet) serving it, what they serve.
    async fn compare(&self, c: &Change) -> Result<Seen, String> {
        let d = Dns::of(c)?;
        let servers = self.authoritative(&d.zone).await?;
        let answers = futures_util::future::join_all(
            servers.iter().map(|t| t.client.lookup(&d.owner, d.kind)),
        )
        .await;
        let mut differ = Vec::new();
        for (t, a) in servers.iter().zip(answers) {
            let live = match a.status {
                AnswerStatus::Answer => Some(a.values),
                AnswerStatus::NxDomain | AnswerStatus::NoData => Some(Vec::new()),
                AnswerStatus::Error(e) => {
                    differ.push(format!("{} did not answer ({e})", t.label));
                    None
                }
            };
            let Some(live) = live else { continue };
            let mut values: Vec<String> = live.iter().map(|v| v.value.clone()).collect();
            values.sort();
            values.dedup();
            let ttls: Vec<u32> = live.iter().map(|v| v.ttl).collect();
            let ttl_ok = d.after.is_empty() || ttls.iter().all(|t| *t == d.ttl);
            if values != d.after || !ttl_ok {
                differ.push(format!(
                    "{} serves {}",
                    t.label,
                    if values.is_empty() {
                        "no such records".to_string()
                    } else {
                        format!(
                            "TTL {} {}",
                            ttls.first().copied().unwrap_or_default(),
                            values.join(" | ")
                        )
                    }
                ));
            }
        }
        Ok(Seen {
            servers: servers.len(),
            differ,
        })
    }

    /// Is the change in effect on every authoritative server?
    pub(crate) async fn check(&self, c: &Change) -> Result<Live, String> {
        let seen = self.compare(c).await?;
        if seen.differ.iter().any(|d| d.contains("did not answer"))
            && seen.differ.len() == seen.servers
        {
            return Err(format!(
                "cannot read {}: {}",
                c.target.display,
                seen.differ.join("; ")
            ));
        }
        Ok(Live {
            holds: seen.differ.is_empty(),
            request_id: None,
        })
    }

    /// Apply the change: one signed update when the zone is configured, else instructions
    /// and the watch.
    pub(crate) async fn send(&self, c: &Change) -> Result<Done, NotDone> {
        let Route::Dns {
            zone,
            name,
            rtype,
            values,
            ttl,
        } = &c.route
        else {
            return Err(NotDone {
                error: format!("change {} is not a DNS change", c.id),
                ambiguous: false,
            });
        };
        let ttl = ttl.unwrap_or_default();
        if let Some(updater) = self.updater(zone) {
            return match updater.replace_rrset(name, rtype, ttl, values).await {
                // The primary took it; the zone's other servers (secondaries, what Microsoft's
                // verification and the world ask) get it by transfer: applied once all serve it.
                Ok(applied) => match self.watch_servers(c).await {
                    Ok(servers) => Ok(Done {
                        request_id: Some(applied.request_id),
                        action: format!(
                            "applied (RFC 2136 update to {}, seen on {servers} authoritative servers)",
                            updater.server()
                        ),
                    }),
                    Err(last) => Err(NotDone {
                        error: format!(
                            "the update to {} was accepted ({}) but after {}s not every authoritative server serves it ({last}); check the zone's transfers, then run 'cutover apply --resume' to read it again",
                            updater.server(),
                            applied.request_id,
                            self.wait.as_secs()
                        ),
                        ambiguous: false,
                    }),
                },
                Err(e) => Err(NotDone {
                    ambiguous: matches!(e, UpdateError::Ambiguous(_)),
                    error: e.to_string(),
                }),
            };
        }
        (self.say)(&instructions(c));
        self.watch_for(c).await
    }

    /// Read the authoritative servers until every one serves `after`, or the deadline.
    async fn watch_for(&self, c: &Change) -> Result<Done, NotDone> {
        match self.watch_servers(c).await {
            Ok(servers) => Ok(Done {
                request_id: None,
                action: format!("applied (seen on {servers} authoritative servers)"),
            }),
            Err(last) => Err(NotDone {
                error: format!(
                    "not yet visible after {}s ({last}); make the change at the DNS host, then run 'cutover apply --resume' to read it again",
                    self.wait.as_secs()
                ),
                ambiguous: false,
            }),
        }
    }

    /// Read every authoritative server until all serve `after` (their number), or until the
    /// deadline (what they served last).
    async fn watch_servers(&self, c: &Change) -> Result<usize, String> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.wait;
        loop {
            let last = match self.compare(c).await {
                Ok(seen) if seen.differ.is_empty() => return Ok(seen.servers),
                Ok(seen) => format!(
                    "{} of {} authoritative servers differ: {}",
                    seen.differ.len(),
                    seen.servers,
                    seen.differ.join("; ")
                ),
                // A server briefly unreachable is no reason to stop watching.
                Err(e) => e,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(last);
            }
            tokio::time::sleep(self.poll.min(deadline - now)).await;
        }
    }
}

/// What the watch found.
struct Seen {
    servers: usize,
    /// One line per server not serving `after`.
    differ: Vec<String>,
}

/// A DNS change's parts in the form answers are compared in.
struct Dns {
    zone: String,
    /// Absolute owner, lower case, no trailing dot.
    owner: String,
    kind: RecordKind,
    /// Normalised values, sorted, no duplicates.
    after: Vec<String>,
    ttl: u32,
}

impl Dns {
    fn of(c: &Change) -> Result<Dns, String> {
        let Route::Dns {
            zone, name, rtype, ..
        } = &c.route
        else {
            return Err(format!("change {} is not a DNS change", c.id));
        };
        if c.field != FIELD_RRSET {
            return Err(format!(
                "cutover cannot read field '{}' back through DNS",
                c.field
            ));
        }
        let kind = match rtype.trim().to_ascii_uppercase().as_str() {
            "MX" => RecordKind::Mx,
            "TXT" => RecordKind::Txt,
            "CNAME" => RecordKind::Cname,
            "SRV" => RecordKind::Srv,
            "NS" => RecordKind::Ns,
            other => {
                return Err(format!(
                    "cutover cannot read {other} records back (MX, TXT, CNAME, SRV, NS)"
                ));
            }
        };
        let after: RrSet = serde_json::from_value(c.after.clone())
            .map_err(|e| format!("its after is not a record set ({e})"))?;
        let mut values = after
            .values
            .iter()
            .map(|v| normalise_value(rtype, v))
            .collect::<Result<Vec<_>, _>>()?;
        values.sort();
        values.dedup();
        let owner = owner(zone, name)?;
        Ok(Dns {
            zone: crate::dns::normalize_name(zone),
            owner: crate::dns::normalize_name(&owner.to_ascii()),
            kind,
            after: values,
            ttl: after.ttl,
        })
    }
}

/// Refuse, before any request, a DNS change that could not be applied or read back.
pub(crate) fn usable(c: &Change) -> Result<(), String> {
    let d = Dns::of(c)?;
    let Route::Dns {
        values, ttl, zone, ..
    } = &c.route
    else {
        return Err("not a DNS change".into());
    };
    if ttl.is_none() && !values.is_empty() {
        return Err("its route gives no TTL".into());
    }
    let mut route_values = values
        .iter()
        .map(|v| normalise_value(d.kind.as_str(), v))
        .collect::<Result<Vec<_>, _>>()?;
    route_values.sort();
    route_values.dedup();
    if route_values != d.after || (!values.is_empty() && *ttl != Some(d.ttl)) {
        return Err("its route does not set what its after says".into());
    }
    if d.kind == RecordKind::Cname && d.after.len() > 1 {
        return Err(format!("{} can have only one CNAME", d.owner));
    }
    if crate::dns::normalize_name(zone).is_empty() {
        return Err("its route names no zone".into());
    }
    Ok(())
}

/// The steps for any DNS host: which set to replace, the records to leave, the old ones.
pub fn instructions(c: &Change) -> String {
    let Route::Dns {
        zone,
        name,
        rtype,
        values,
        ttl,
    } = &c.route
    else {
        return String::new();
    };
    let owner = owner(zone, name)
        .map(|n| n.to_ascii())
        .unwrap_or_else(|_| name.clone());
    let rtype = rtype.to_ascii_uppercase();
    let before: Option<RrSet> = serde_json::from_value(c.before.clone()).ok();
    let quote = |v: &str| {
        if rtype == "TXT" {
            format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            v.to_string()
        }
    };
    let mut out = format!(
        "DNS change {} in zone {zone} (make it at the zone's DNS host):\n",
        c.id
    );
    match before.as_ref().filter(|b| !b.values.is_empty()) {
        Some(b) => {
            out.push_str(&format!(
                "  delete all {rtype} records of {owner} (now TTL {}):\n",
                b.ttl
            ));
            for v in &b.values {
                out.push_str(&format!("    {owner} {} IN {rtype} {}\n", b.ttl, quote(v)));
            }
        }
        None => out.push_str(&format!(
            "  {owner} should have no {rtype} records now (delete any)\n"
        )),
    }
    if values.is_empty() {
        out.push_str(&format!("  and add none: {owner} {rtype} is removed\n"));
    } else {
        let ttl = ttl.unwrap_or_default();
        out.push_str(&format!(
            "  add exactly these {} record(s), TTL {ttl}:\n",
            values.len()
        ));
        for v in values {
            out.push_str(&format!("    {owner} {ttl} IN {rtype} {}\n", quote(v)));
        }
    }
    out.push_str("  cutover reads the zone's authoritative servers until every one serves this.");
    out
}
