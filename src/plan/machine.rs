//! The domain's place in the cutover state machine, from what the dashboard already reads:
//! both tenants' `GET /domains/{id}`, the zone's TXT and MX as its authoritative servers answer
//! them, the destination's expected records, the inventory's count and the journal.
//!
//! Forward: in source → releasing → released → added to destination → verified → services
//! configured → done. Back-out: backing out → back in source. Each place comes with what blocks
//! the next transition, in words. Pure: no I/O, no clock.

use super::backout::Applied;
use super::change::{FIELD_ADDRESSES, FIELD_DOMAIN, FIELD_PRIMARY, FIELD_UPN};
use crate::audit::Record;

/// A place in the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not enough read yet to say (the source tenant has not answered).
    Unknown,
    InSource,
    Releasing,
    Released,
    AddedToDestination,
    Verified,
    ServicesConfigured,
    Done,
    BackingOut,
    BackInSource,
}

impl Stage {
    /// The forward path, in order.
    pub const FORWARD: [Stage; 7] = [
        Stage::InSource,
        Stage::Releasing,
        Stage::Released,
        Stage::AddedToDestination,
        Stage::Verified,
        Stage::ServicesConfigured,
        Stage::Done,
    ];
    /// The back-out path, in order.
    pub const BACK: [Stage; 2] = [Stage::BackingOut, Stage::BackInSource];

    pub fn label(self) -> &'static str {
        match self {
            Stage::Unknown => "unknown",
            Stage::InSource => "in source",
            Stage::Releasing => "releasing",
            Stage::Released => "released",
            Stage::AddedToDestination => "added to destination",
            Stage::Verified => "verified",
            Stage::ServicesConfigured => "services configured",
            Stage::Done => "done",
            Stage::BackingOut => "backing out",
            Stage::BackInSource => "back in source",
        }
    }

    /// The path this stage is on (forward or back-out); empty for [`Stage::Unknown`].
    pub fn path(self) -> &'static [Stage] {
        match self {
            Stage::Unknown => &[],
            Stage::BackingOut | Stage::BackInSource => &Stage::BACK,
            _ => &Stage::FORWARD,
        }
    }

    /// The stage after this one on its path, if any.
    pub fn next(self) -> Option<Stage> {
        let path = self.path();
        let at = path.iter().position(|s| *s == self)?;
        path.get(at + 1).copied()
    }
}

/// The domain's place and what keeps it from the next one (`None` at the end of a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub stage: Stage,
    pub blocker: Option<String>,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            stage: Stage::Unknown,
            blocker: Some("waiting for the source tenant's first poll".into()),
        }
    }
}

/// One tenant's `GET /domains/{id}` as last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Presence {
    /// Not read yet (or the tenant has never answered).
    #[default]
    Unknown,
    /// 404: the tenant does not have it.
    Absent,
    Present {
        verified: bool,
        default: bool,
        /// Graph's `state.operation` says a removal runs.
        removing: bool,
    },
}

impl Presence {
    fn present(self) -> bool {
        matches!(self, Presence::Present { .. })
    }
}

/// What the journal says was applied, reduced to what the state machine needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalReading {
    /// Changes to the source tenant still in effect (aliases, UPNs, URIs, default, removal).
    pub source_in_effect: usize,
    /// The source's removal of the domain is applied and not undone.
    pub source_removal: bool,
    /// Changes to destination objects' names (addresses, primaries, UPNs) still in effect.
    pub names_restored: usize,
    /// Every change still in effect (any tenant, DNS included): what a backout would undo.
    pub in_effect: usize,
    /// The newest applied change undid an earlier one, after the domain changed hands (the
    /// source removed it or the destination added it): the cutover is going back.
    pub backing_out: bool,
    /// Intents with no `ok` outcome yet (settled by `cutover apply --resume`).
    pub unsettled: usize,
}

impl JournalReading {
    pub fn from_records(records: &[Record]) -> JournalReading {
        let history = super::backout::history(records);
        let mut reading = net_effect(&history.applied);
        reading.unsettled = history.unsettled.len();
        reading
    }
}

/// What changed and was not undone ([`backout::net`](super::backout::net), the same reckoning
/// that plans the backout), counted for the state machine.
fn net_effect(applied: &[Applied]) -> JournalReading {
    let net = super::backout::net(applied);
    let mut reading = JournalReading {
        backing_out: net.handed_over && net.last_undid,
        ..JournalReading::default()
    };
    for a in &net.in_effect {
        reading.in_effect += 1;
        if a.tenant == "source" {
            reading.source_in_effect += 1;
            reading.source_removal |= a.field == FIELD_DOMAIN;
        }
        if a.tenant == "destination"
            && [FIELD_ADDRESSES, FIELD_PRIMARY, FIELD_UPN].contains(&a.field.as_str())
        {
            reading.names_restored += 1;
        }
    }
    reading
}

/// Everything the state machine reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Readings {
    pub source: Presence,
    pub destination: Presence,
    /// `false`: the configuration names no destination tenant.
    pub destination_configured: bool,
    /// Objects in the source that still hold the domain (the inventory's total).
    pub holding: Option<usize>,
    /// The zone's apex TXT values (authoritative); `None` until answered.
    pub zone_txt: Option<Vec<String>>,
    /// The zone's apex MX hosts (authoritative, lower case, no trailing dot).
    pub zone_mx: Option<Vec<String>>,
    /// The destination's verification TXT (`MS=ms…`), while it expects one.
    pub destination_txt: Option<String>,
    /// The MX hosts the destination's serviceConfigurationRecords ask for.
    pub destination_mx: Option<Vec<String>>,
    pub journal: JournalReading,
}

/// The domain's place, and what blocks the next transition.
pub fn place(r: &Readings) -> Place {
    let at = |stage: Stage, blocker: Option<String>| Place { stage, blocker };
    let blocked = |stage: Stage, why: &str| at(stage, Some(why.to_string()));
    let j = &r.journal;
    if r.source == Presence::Unknown {
        return Place::default();
    }
    if j.backing_out {
        return backing_out(r);
    }
    match r.destination {
        Presence::Present { verified: true, .. } => return verified(r),
        // Listed unverified in the destination counts once the source no longer answers: the
        // rehearsal (and a tenant that tried early) lists it there from the start.
        Presence::Present {
            verified: false, ..
        } if !r.source.present() => {
            return added(r);
        }
        _ => {}
    }
    if !r.source.present() || j.source_removal || removing(r.source) {
        return released(r);
    }
    if j.source_in_effect == 0 {
        // The holding count is in the pane's own row; the next step is to start the release.
        return blocked(
            Stage::InSource,
            "no release applied yet (cutover plan release, then cutover apply)",
        );
    }
    if r.holding.is_none() {
        return blocked(
            Stage::Releasing,
            "counting the objects that reference the domain",
        );
    }
    let holding = r.holding.unwrap_or(0);
    if holding > 0 {
        return at(
            Stage::Releasing,
            Some(if holding == 1 {
                "1 object still references the domain".to_string()
            } else {
                format!("{holding} objects still reference the domain")
            }),
        );
    }
    if matches!(r.source, Presence::Present { default: true, .. }) {
        return blocked(Stage::Releasing, "it is still the source's default domain");
    }
    blocked(
        Stage::Releasing,
        "its removal is not applied yet (DELETE /domains in the release plan)",
    )
}

fn removing(p: Presence) -> bool {
    matches!(p, Presence::Present { removing: true, .. })
}

fn released(r: &Readings) -> Place {
    let why = if r.source.present() {
        "waiting for Microsoft to finish removing it (GET /domains answers 200)"
    } else if !r.destination_configured {
        "no destination tenant configured"
    } else if r.destination == Presence::Unknown {
        "waiting for the destination tenant's first poll"
    } else {
        "not added to the destination yet (cutover plan adopt)"
    };
    Place {
        stage: Stage::Released,
        blocker: Some(why.into()),
    }
}

fn added(r: &Readings) -> Place {
    let why = match (&r.destination_txt, &r.zone_txt) {
        (Some(ms), Some(txt)) if !txt.iter().any(|v| v == ms) => {
            format!("the destination's {ms} TXT is not in the zone")
        }
        (_, None) => "waiting for the zone's TXT answer".into(),
        _ => "not verified yet (POST /domains/{id}/verify)".into(),
    };
    Place {
        stage: Stage::AddedToDestination,
        blocker: Some(why),
    }
}

fn verified(r: &Readings) -> Place {
    let at = |stage: Stage, why: String| Place {
        stage,
        blocker: Some(why),
    };
    let (Some(want), Some(zone)) = (&r.destination_mx, &r.zone_mx) else {
        let why = if r.destination_mx.is_none() {
            "the destination's expected MX not read yet"
        } else {
            "waiting for the zone's MX answer"
        };
        return at(Stage::Verified, why.into());
    };
    let first = |hosts: &[String]| hosts.first().cloned().unwrap_or_else(|| "nothing".into());
    if want.is_empty() || !want.iter().any(|h| zone.iter().any(|z| z == h)) {
        return at(
            Stage::Verified,
            format!(
                "MX points to {}, not the destination's {}",
                first(zone),
                first(want)
            ),
        );
    }
    let j = &r.journal;
    if j.unsettled > 0 {
        return at(
            Stage::ServicesConfigured,
            format!(
                "{} {} unsettled in the journal (cutover apply --resume)",
                j.unsettled,
                if j.unsettled == 1 {
                    "change"
                } else {
                    "changes"
                }
            ),
        );
    }
    if j.names_restored == 0 {
        return at(
            Stage::ServicesConfigured,
            "no names restored in the destination yet (cutover plan adopt)".into(),
        );
    }
    Place {
        stage: Stage::Done,
        blocker: None,
    }
}

fn backing_out(r: &Readings) -> Place {
    let j = &r.journal;
    let why = match r.source {
        _ if r.destination.present() && !r.source.present() => {
            Some("the destination still has the domain (GET /domains answers 200 there)".into())
        }
        Presence::Absent | Presence::Unknown => Some("not added back to the source yet".into()),
        Presence::Present {
            verified: false, ..
        } => Some("not verified in the source again yet".into()),
        Presence::Present { .. } if j.in_effect > 0 => Some(format!(
            "{} applied {} still to undo (cutover plan backout)",
            j.in_effect,
            if j.in_effect == 1 {
                "change"
            } else {
                "changes"
            }
        )),
        Presence::Present { .. } => None,
    };
    match why {
        Some(why) => Place {
            stage: Stage::BackingOut,
            blocker: Some(why),
        },
        None => Place {
            stage: Stage::BackInSource,
            blocker: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::plan::change::{FIELD_DOMAIN_ADDED, FIELD_DOMAIN_VERIFIED, Route, Target};

    const D: &str = "contoso.example";

    fn change(tenant: &str, target: &str, field: &str, before: Value, after: Value) -> Applied {
        Applied {
            id: format!("{tenant}-{target}-{field}-{before}-{after}"),
            tenant: tenant.into(),
            target: Target {
                id: target.into(),
                display: target.into(),
            },
            field: field.into(),
            before,
            after,
            route: Route::Graph {
                method: "PATCH".into(),
                path: format!("/v1.0/{target}"),
                body: None,
            },
            rule: String::new(),
            seq: 0,
        }
    }
    fn alias_removed(who: &str) -> Applied {
        let a = json!([format!("smtp:{who}@{D}")]);
        change("source", who, FIELD_ADDRESSES, a, json!([]))
    }
    fn alias_back(who: &str) -> Applied {
        let a = json!([format!("smtp:{who}@{D}")]);
        change("source", who, FIELD_ADDRESSES, json!([]), a)
    }
    fn removal() -> Applied {
        change("source", D, FIELD_DOMAIN, json!(D), Value::Null)
    }
    fn added(tenant: &str) -> Applied {
        change(tenant, D, FIELD_DOMAIN_ADDED, Value::Null, json!(D))
    }
    fn verify(tenant: &str) -> Applied {
        change(tenant, D, FIELD_DOMAIN_VERIFIED, json!(false), json!(true))
    }
    fn removed_from(tenant: &str) -> Applied {
        change(tenant, D, FIELD_DOMAIN, json!(D), Value::Null)
    }
    fn name_restored(who: &str) -> Applied {
        let a = json!([format!("smtp:{who}@{D}")]);
        change("destination", who, FIELD_ADDRESSES, json!([]), a)
    }

    fn present(verified: bool) -> Presence {
        Presence::Present {
            verified,
            default: false,
            removing: false,
        }
    }
    const MX: &str = "contoso-example.mail.protection.outlook.com";

    /// The start: the source holds the domain, the destination has it unverified (as the
    /// rehearsal starts), nothing applied.
    fn start() -> Readings {
        Readings {
            source: Presence::Present {
                verified: true,
                default: true,
                removing: false,
            },
            destination: present(false),
            destination_configured: true,
            holding: Some(12),
            zone_txt: Some(vec!["MS=ms11111111".into(), "v=spf1 -all".into()]),
            zone_mx: Some(vec!["old.mail.example".into()]),
            destination_txt: Some("MS=ms22222222".into()),
            destination_mx: Some(vec![MX.into()]),
            journal: JournalReading::default(),
        }
    }
    fn with(r: Readings, applied: &[Applied]) -> Readings {
        Readings {
            journal: net_effect(applied),
            ..r
        }
    }
    fn blocker(p: &Place) -> &str {
        p.blocker.as_deref().unwrap_or("")
    }

    #[test]
    fn nothing_read_is_unknown() {
        let r = Readings::default();
        assert_eq!(place(&r).stage, Stage::Unknown);
        assert!(blocker(&place(&r)).contains("source tenant's first poll"));
    }

    #[test]
    fn the_start_is_in_source_even_with_the_destination_holding_it_unverified() {
        let p = place(&start());
        assert_eq!(p.stage, Stage::InSource);
        assert!(blocker(&p).contains("no release applied"), "{p:?}");
    }

    #[test]
    fn releasing_names_what_still_holds_it_then_the_default_then_the_removal() {
        let r = with(start(), &[alias_removed("anna")]);
        let p = place(&r);
        assert_eq!(p.stage, Stage::Releasing);
        assert_eq!(blocker(&p), "12 objects still reference the domain");
        let one = place(&Readings {
            holding: Some(1),
            ..r.clone()
        });
        assert_eq!(blocker(&one), "1 object still references the domain");
        let counting = place(&Readings {
            holding: None,
            ..r.clone()
        });
        assert!(blocker(&counting).contains("counting"));
        let freed = Readings {
            holding: Some(0),
            ..r.clone()
        };
        assert!(blocker(&place(&freed)).contains("still the source's default"));
        let not_default = Readings {
            source: present(true),
            ..freed
        };
        assert!(blocker(&place(&not_default)).contains("removal is not applied"));
    }

    #[test]
    fn an_undo_before_the_removal_stays_on_the_forward_path() {
        let all_undone = with(start(), &[alias_removed("anna"), alias_back("anna")]);
        assert_eq!(place(&all_undone).stage, Stage::InSource);
        let partly = with(
            start(),
            &[
                alias_removed("anna"),
                alias_removed("bo"),
                alias_back("anna"),
            ],
        );
        assert_eq!(place(&partly).stage, Stage::Releasing);
    }

    #[test]
    fn released_waits_for_microsoft_while_get_domains_answers_200() {
        let r = Readings {
            holding: Some(0),
            ..with(start(), &[alias_removed("anna"), removal()])
        };
        let p = place(&r);
        assert_eq!(p.stage, Stage::Released);
        assert_eq!(
            blocker(&p),
            "waiting for Microsoft to finish removing it (GET /domains answers 200)"
        );
        // Graph's own word on a forced removal, without the journal.
        let forced = Readings {
            source: Presence::Present {
                verified: true,
                default: false,
                removing: true,
            },
            ..start()
        };
        let p = place(&forced);
        assert_eq!(p.stage, Stage::Released);
        assert!(blocker(&p).contains("GET /domains answers 200"), "{p:?}");
        let gone = Readings {
            source: Presence::Absent,
            destination: Presence::Absent,
            ..r
        };
        let p = place(&gone);
        assert_eq!(p.stage, Stage::Released);
        assert!(
            blocker(&p).contains("not added to the destination"),
            "{p:?}"
        );
        let alone = Readings {
            destination_configured: false,
            destination: Presence::Unknown,
            ..gone
        };
        assert!(blocker(&place(&alone)).contains("no destination tenant"));
    }

    #[test]
    fn added_to_destination_names_the_missing_txt_then_the_verification() {
        let r = Readings {
            source: Presence::Absent,
            holding: Some(0),
            ..with(start(), &[removal(), added("destination")])
        };
        let p = place(&r);
        assert_eq!(p.stage, Stage::AddedToDestination);
        assert_eq!(
            blocker(&p),
            "the destination's MS=ms22222222 TXT is not in the zone"
        );
        let published = Readings {
            zone_txt: Some(vec!["MS=ms22222222".into()]),
            ..r
        };
        assert!(blocker(&place(&published)).contains("not verified yet"));
    }

    #[test]
    fn verified_until_the_mx_points_to_the_destination() {
        let r = Readings {
            source: Presence::Absent,
            destination: present(true),
            holding: Some(0),
            ..with(
                start(),
                &[removal(), added("destination"), verify("destination")],
            )
        };
        let p = place(&r);
        assert_eq!(p.stage, Stage::Verified);
        assert_eq!(
            blocker(&p),
            format!("MX points to old.mail.example, not the destination's {MX}")
        );
        let unread = Readings {
            destination_mx: None,
            ..r.clone()
        };
        assert!(blocker(&place(&unread)).contains("expected MX not read"));
        let moved = Readings {
            zone_mx: Some(vec![MX.into()]),
            ..r
        };
        let p = place(&moved);
        assert_eq!(p.stage, Stage::ServicesConfigured);
        assert!(blocker(&p).contains("no names restored"), "{p:?}");
        let done = with(
            moved.clone(),
            &[
                removal(),
                added("destination"),
                verify("destination"),
                name_restored("anna"),
            ],
        );
        assert_eq!(
            place(&done),
            Place {
                stage: Stage::Done,
                blocker: None
            }
        );
        let unsettled = Readings {
            journal: JournalReading {
                unsettled: 2,
                ..done.journal.clone()
            },
            ..done
        };
        assert!(blocker(&place(&unsettled)).contains("2 changes unsettled"));
    }

    #[test]
    fn backing_out_until_the_source_has_it_again_and_nothing_is_left_to_undo() {
        let forward = [
            alias_removed("anna"),
            removal(),
            added("destination"),
            verify("destination"),
            name_restored("anna"),
        ];
        // The backout's first step: the destination's name undone.
        let mut applied = forward.to_vec();
        applied.push(change(
            "destination",
            "anna",
            FIELD_ADDRESSES,
            json!([format!("smtp:anna@{D}")]),
            json!([]),
        ));
        let r = Readings {
            source: Presence::Absent,
            destination: present(true),
            ..with(start(), &applied)
        };
        let p = place(&r);
        assert_eq!(p.stage, Stage::BackingOut);
        assert!(blocker(&p).contains("destination still has"), "{p:?}");
        // The domain removed from the destination, added back and verified in the source.
        applied.extend([
            removed_from("destination"),
            added("source"),
            verify("source"),
        ]);
        let r = Readings {
            source: present(true),
            destination: Presence::Absent,
            ..with(start(), &applied)
        };
        let p = place(&r);
        assert_eq!(p.stage, Stage::BackingOut);
        assert_eq!(
            blocker(&p),
            "1 applied change still to undo (cutover plan backout)"
        );
        applied.push(alias_back("anna"));
        let r = with(r, &applied);
        assert_eq!(
            place(&r),
            Place {
                stage: Stage::BackInSource,
                blocker: None
            }
        );
        // A new release after the back-out is on the forward path again.
        applied.push(alias_removed("bo"));
        assert_eq!(place(&with(r, &applied)).stage, Stage::Releasing);
    }

    /// What is still in effect, and whether the newest change backs out a hand-over.
    #[test]
    fn net_effect_counts_what_backout_would_undo() {
        let journals: Vec<(Vec<Applied>, usize, bool)> = vec![
            (
                vec![alias_removed("a"), alias_removed("b"), alias_back("a")],
                1,
                false,
            ),
            (
                vec![
                    alias_removed("a"),
                    removal(),
                    added("destination"),
                    verify("destination"),
                ],
                4,
                false,
            ),
            (
                vec![
                    alias_removed("a"),
                    removal(),
                    added("destination"),
                    verify("destination"),
                    removed_from("destination"),
                    added("source"),
                    verify("source"),
                    alias_back("a"),
                ],
                0,
                true,
            ),
            (
                vec![alias_removed("a"), alias_back("a"), alias_removed("a")],
                1,
                false,
            ),
        ];
        for (j, in_effect, backing_out) in journals {
            let r = net_effect(&j);
            assert_eq!(
                (r.in_effect, r.backing_out),
                (in_effect, backing_out),
                "{j:#?}"
            );
        }
    }
}
