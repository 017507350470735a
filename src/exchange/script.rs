//! The PowerShell script generator: the same Exchange changes as the API routes, written as a
//! reviewed `.ps1` for admins who grant cutover neither Exchange route. Every change runs with
//! `-WhatIf` unless the script is started with `-Apply`; every value is a single-quoted
//! PowerShell literal and every comment is one sanitised line, so no name can inject code.

use super::model::RecipientKind;
use super::plan::AddressChange;

/// What the script is for.
#[derive(Debug, Clone)]
pub struct ScriptInput<'a> {
    /// The profile's tenant (id or domain), named in the header.
    pub tenant: &'a str,
    pub domain: &'a str,
    /// The tenant's `*.onmicrosoft.com` domain: new primaries go there, and the script checks
    /// it is connected to the tenant that has it.
    pub initial_domain: &'a str,
    /// Where the object list came from, e.g. "Graph inventory at 2026-01-01T10:00:00Z".
    pub source: &'a str,
    pub changes: &'a [AddressChange],
}

/// A PowerShell single-quoted literal. Inside single quotes only a quote character is special;
/// PowerShell also treats the typographic quotes U+2018, U+2019, U+201A and U+201B as single
/// quotes, so each of them is doubled too. `$`, backticks and double quotes stay literal.
pub fn ps_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Text safe inside a `#` line comment: control characters and Unicode line and paragraph
/// separators become spaces, so a name cannot end the comment and start a command.
pub fn comment_text(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| ps_quote(v))
        .collect::<Vec<_>>()
        .join(",")
}

const PRELUDE: &str = r#"#Requires -Modules ExchangeOnlineManagement
[CmdletBinding()]
param(
    # Make the changes. Without it every command runs with -WhatIf and nothing changes.
    [switch]$Apply
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$WhatIf = -not $Apply
$script:failed = 0

# One object's commands: a failure is reported and counted, and the next object goes on.
# Every cmdlet also gets -ErrorAction Stop: the module's cmdlets are functions of a generated
# module, which do not see this script's $ErrorActionPreference.
function Invoke-Step([string]$What, [scriptblock]$Step) {
    try {
        & $Step
        Write-Host "done: $($What)"
    } catch {
        $script:failed++
        Write-Warning "failed: $($What): $($_.Exception.Message)"
    }
}

# A domain-ish value (contoso.com, *.contoso.com, smtp:contoso.com;1, mx.contoso.com) in $Domain?
function Test-InDomain([string]$Value) {
    $v = (($Value -replace '^smtp:', '') -split ';')[0]
    $v = $v.TrimStart('*').TrimStart('.').TrimEnd('.')
    return ($v -ieq $Domain) -or $v.EndsWith(".$Domain", [System.StringComparison]::OrdinalIgnoreCase)
}
"#;

const CONNECTORS: &str = r#"
# Connectors are not visible to Graph: the script finds the ones naming the domain when it
# runs. A connector only for the domain is removed (Exchange asks to confirm with -Apply); one
# that also serves other domains keeps those, and its smart hosts and TLS names need review.
foreach ($c in @(Get-InboundConnector)) {
    $names = @($c.SenderDomains | ForEach-Object { "$_" })
    $refs = @($names | Where-Object { Test-InDomain $_ })
    $tls = "$($c.TlsSenderCertificateName)"
    if ($refs.Count -eq 0 -and -not ($tls -and (Test-InDomain $tls))) { continue }
    $keep = @($names | Where-Object { -not (Test-InDomain $_) })
    Write-Host "inbound connector '$($c.Name)' references $Domain (SenderDomains: $($names -join ', '); TLS name: $tls)"
    if ($keep.Count -eq 0) {
        Invoke-Step "Remove-InboundConnector '$($c.Name)'" { Remove-InboundConnector -Identity $c.Identity -WhatIf:$WhatIf -ErrorAction Stop }
    } else {
        Invoke-Step "Set-InboundConnector '$($c.Name)' -SenderDomains $($keep -join ',')" { Set-InboundConnector -Identity $c.Identity -SenderDomains $keep -WhatIf:$WhatIf -ErrorAction Stop }
    }
}
foreach ($c in @(Get-OutboundConnector)) {
    $names = @($c.RecipientDomains | ForEach-Object { "$_" })
    $hosts = @($c.SmartHosts | ForEach-Object { "$_" })
    $refs = @(@($names + $hosts) | Where-Object { Test-InDomain $_ })
    $tls = "$($c.TlsDomain)"
    if ($refs.Count -eq 0 -and -not ($tls -and (Test-InDomain $tls))) { continue }
    $keep = @($names | Where-Object { -not (Test-InDomain $_) })
    Write-Host "outbound connector '$($c.Name)' references $Domain (RecipientDomains: $($names -join ', '); SmartHosts: $($hosts -join ', '); TlsDomain: $tls)"
    if ($keep.Count -eq 0) {
        Invoke-Step "Remove-OutboundConnector '$($c.Name)'" { Remove-OutboundConnector -Identity $c.Identity -WhatIf:$WhatIf -ErrorAction Stop }
    } else {
        Invoke-Step "Set-OutboundConnector '$($c.Name)' -RecipientDomains $($keep -join ',')" { Set-OutboundConnector -Identity $c.Identity -RecipientDomains $keep -WhatIf:$WhatIf -ErrorAction Stop }
    }
}

if ($script:failed -gt 0) {
    Write-Warning "$($script:failed) step(s) failed; see the warnings above."
    exit 1
}
if ($WhatIf) {
    Write-Host 'Nothing was changed (-WhatIf). Review the output, then run again with -Apply.'
} else {
    Write-Host 'Done. cutover shows the changes once Graph reports them.'
}
"#;

/// The whole script.
pub fn generate(input: &ScriptInput<'_>) -> String {
    let mut s = String::new();
    let line = |s: &mut String, text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line(
        &mut s,
        &format!(
            "# Generated by cutover {}: remove {} from Exchange Online in tenant {}.",
            env!("CARGO_PKG_VERSION"),
            comment_text(input.domain),
            comment_text(input.tenant)
        ),
    );
    line(
        &mut s,
        &format!("# Objects from: {}.", comment_text(input.source)),
    );
    line(
        &mut s,
        &format!(
            "# {} recipient(s): new primary addresses in {}, then every address in {} removed.",
            input.changes.len(),
            comment_text(input.initial_domain),
            comment_text(input.domain)
        ),
    );
    line(
        &mut s,
        "# Review every command. Run it as is first: everything runs with -WhatIf. Then run it",
    );
    line(
        &mut s,
        "# again with -Apply. Sign in with an account holding an Exchange role that may change",
    );
    line(
        &mut s,
        "# recipients and connectors (e.g. Exchange Administrator, or Mail Recipients +",
    );
    line(
        &mut s,
        "# Remote and Accepted Domains in a custom role group).",
    );
    s.push_str(PRELUDE);
    line(&mut s, "");
    line(&mut s, &format!("$Domain = {}", ps_quote(input.domain)));
    line(
        &mut s,
        &format!("$InitialDomain = {}", ps_quote(input.initial_domain)),
    );
    line(&mut s, "Connect-ExchangeOnline -ShowBanner:$false");
    line(
        &mut s,
        "# The initial domain belongs to one tenant only: this stops the script in the wrong one.",
    );
    line(
        &mut s,
        "if (-not (Get-AcceptedDomain -Identity $InitialDomain -ErrorAction SilentlyContinue)) {",
    );
    line(
        &mut s,
        "    throw \"This session is not connected to the tenant with $InitialDomain; sign in to the right tenant.\"",
    );
    line(&mut s, "}");
    let total = input.changes.len();
    for (i, c) in input.changes.iter().enumerate() {
        line(&mut s, "");
        line(
            &mut s,
            &format!(
                "# [{}/{total}] {} ({}) {}",
                i + 1,
                comment_text(&c.display_name),
                comment_text(&c.recipient_type_details),
                comment_text(&c.identity)
            ),
        );
        let Some(cmdlet) = c.kind.set_cmdlet() else {
            line(
                &mut s,
                "#   not a mailbox or group: change it by hand (Set-MailContact / Set-MailUser).",
            );
            for a in &c.remove {
                line(&mut s, &format!("#   holds {}", comment_text(a)));
            }
            continue;
        };
        if let Some(p) = &c.new_primary {
            line(
                &mut s,
                &format!(
                    "#   primary: {} -> {}",
                    comment_text(&c.identity),
                    comment_text(p)
                ),
            );
        }
        line(
            &mut s,
            &format!("#   remove:  {}", comment_text(&c.remove.join(", "))),
        );
        let id = ps_quote(&c.identity);
        let mut body = Vec::new();
        if let Some(p) = &c.new_primary {
            body.push(format!(
                "{cmdlet} -Identity {id} -{} {} -WhatIf:$WhatIf -ErrorAction Stop",
                c.kind.primary_parameter(),
                ps_quote(p)
            ));
        }
        if !c.remove.is_empty() {
            body.push(format!(
                "{cmdlet} -Identity {id} -EmailAddresses @{{Remove={}}} -WhatIf:$WhatIf -ErrorAction Stop",
                quoted_list(&c.remove)
            ));
        }
        let what = ps_quote(&format!("{} {}", kind_word(c.kind), c.identity));
        line(&mut s, &format!("Invoke-Step {what} {{"));
        for b in body {
            line(&mut s, &format!("    {b}"));
        }
        line(&mut s, "}");
    }
    s.push_str(CONNECTORS);
    s
}

fn kind_word(kind: RecipientKind) -> &'static str {
    match kind {
        RecipientKind::Mailbox => "mailbox",
        RecipientKind::DistributionGroup => "distribution group",
        RecipientKind::UnifiedGroup => "Microsoft 365 group",
        RecipientKind::Other => "recipient",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ps_quote("O'Brien"), "'O''Brien'");
        assert_eq!(ps_quote("$env:PATH `n \"x\""), "'$env:PATH `n \"x\"'");
        assert_eq!(ps_quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(comment_text("x\r\nRemove-Mailbox y"), "x  Remove-Mailbox y");
    }
}
