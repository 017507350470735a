//! `cutover inventory`: every object in a tenant that still holds the domain, as text or as
//! JSON lines (one object per directory object).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use super::args::InventoryArgs;
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::config::Side;
use crate::inventory::{self, Kind};

/// `cutover inventory --tenant T [--domain D] [--json]`.
pub(crate) fn inventory(globals: &Globals, args: &InventoryArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let (side, json) = (args.tenant, args.json);
    let rt = runtime()?;
    let entries = rt.block_on(async {
        let client = start::client_for(profile, &paths, None)?;
        let entries = inventory::collect(&client, &domain.ascii)
            .await
            .map_err(start::sign_in_failure)?;
        start::warn_other_tenant(&client, side.name()).await;
        Ok::<_, Failure>(entries)
    })?;
    let domain = domain.display_both();
    let mut out = std::io::stdout().lock();
    let written = if json {
        entries.iter().try_for_each(|e| {
            let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")
        })
    } else {
        write_text(&mut out, &domain, side, &entries)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn write_text(
    out: &mut impl Write,
    domain: &str,
    side: Side,
    entries: &[inventory::Entry],
) -> std::io::Result<()> {
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for e in entries {
        *counts.entry(e.kind).or_default() += 1;
    }
    writeln!(
        out,
        "{} objects in the {} tenant hold {domain}:",
        inventory::Holding::of(entries).total,
        side.name()
    )?;
    for (kind, n) in &counts {
        writeln!(out, "  {n:>7}  {}", kind_name(*kind))?;
    }
    for e in entries {
        let hows: Vec<String> = e
            .references
            .iter()
            .map(|r| format!("{}={}", r.how, r.value))
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}{}",
            kind_name(e.kind),
            e.id,
            e.display_name,
            hows.join(" "),
            user_state(e)
        )?;
    }
    Ok(())
}

/// For users: enabled or not, synced from on-premises or cloud-only, licences.
fn user_state(e: &crate::inventory::Entry) -> String {
    let mut parts = Vec::new();
    if let Some(enabled) = e.enabled {
        parts.push(if enabled { "enabled" } else { "disabled" }.to_string());
    }
    if let Some(synced) = e.synced {
        parts.push(if synced { "synced" } else { "cloud-only" }.to_string());
    }
    if let Some(n) = e.licences {
        parts.push(format!("{n} licence{}", if n == 1 { "" } else { "s" }));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("\t{}", parts.join(", "))
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::DistributionGroup => "distribution group",
        Kind::Microsoft365Group => "Microsoft 365 group",
        Kind::MailEnabledSecurityGroup => "mail-enabled security group",
        Kind::SecurityGroup => "security group",
        Kind::Contact => "contact",
        Kind::Application => "application",
        Kind::Other => "other",
    }
}
