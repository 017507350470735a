//! The PowerShell script generator: the same Exchange changes as the API routes, written as a
//! reviewed `.ps1` for admins who grant cutover neither Exchange route. Every change runs with
//! `-WhatIf` unless the script is started with `-Apply`; every value is a single-quoted
//! PowerShell literal and every comment is one sanitised line, so no name can inject code.

use serde_json::Value;

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
    /// Connectors to remove, as `access::changes::connector_value` keeps them (the plan's
    /// `remove_connector` changes' `before`): each removal is written out and guarded. Empty:
    /// the script only finds connectors itself when it runs.
    pub connectors: &'a [Value],
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
# runs (those removed above by name are skipped). A connector only for the domain is removed
# (Exchange asks to confirm with -Apply); one that also serves other domains keeps those, and
# its smart hosts and TLS names need review.
foreach ($c in @(Get-InboundConnector)) {
    if ($Planned -contains "$($c.Name)") { continue }
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
    if ($Planned -contains "$($c.Name)") { continue }
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
    connector_removals(&mut s, input.connectors);
    s.push_str(CONNECTORS);
    s
}

/// A connector's saved settings as a `New-…Connector` command: every value a quoted literal,
/// every parameter name from cutover's own list (a name that is not plain letters is left
/// out, so a saved value cannot smuggle one in).
pub fn new_connector_command(value: &Value) -> String {
    let mut cmd = format!("New-{}Connector", direction_word(value));
    let Some(params) = value.get("params").and_then(Value::as_object) else {
        return cmd;
    };
    for (key, v) in params {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let arg = match v {
            Value::String(t) => format!(" -{key} {}", ps_quote(t)),
            Value::Bool(b) => format!(" -{key}:${b}"),
            Value::Array(items) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect();
                if texts.is_empty() {
                    continue;
                }
                format!(" -{key} {}", quoted_list(&texts))
            }
            Value::Number(n) => format!(" -{key} {}", ps_quote(&n.to_string())),
            Value::Null | Value::Object(_) => continue,
        };
        cmd.push_str(&arg);
    }
    cmd
}

fn direction_word(value: &Value) -> &'static str {
    if value.get("direction").and_then(Value::as_str) == Some("outbound") {
        "Outbound"
    } else {
        "Inbound"
    }
}

fn connector_name(value: &Value) -> &str {
    value
        .get("params")
        .and_then(|p| p.get("Name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The named removals: each checks when it runs that the connector still exists, still names
/// the domain and serves no other domain, then removes it (`-WhatIf` unless `-Apply`). The
/// recreate command is printed as a comment for the admin's records (one sanitised line).
fn connector_removals(s: &mut String, connectors: &[Value]) {
    let names: Vec<String> = connectors
        .iter()
        .map(|c| connector_name(c).to_string())
        .filter(|n| !n.is_empty())
        .collect();
    s.push('\n');
    s.push_str(&format!("$Planned = @({})\n", quoted_list(&names)));
    let total = names.len();
    let mut i = 0;
    for c in connectors {
        let name = connector_name(c);
        if name.is_empty() {
            continue;
        }
        i += 1;
        let dir = direction_word(c);
        let (domains, others) = if dir == "Outbound" {
            (
                "@(@($c.RecipientDomains) + @($c.SmartHosts))",
                "@($c.RecipientDomains)",
            )
        } else {
            ("@($c.SenderDomains)", "@($c.SenderDomains)")
        };
        let tls = if dir == "Outbound" {
            "$c.TlsDomain"
        } else {
            "$c.TlsSenderCertificateName"
        };
        let id = ps_quote(name);
        let what = ps_quote(&format!("Remove-{dir}Connector {name}"));
        s.push_str(&format!(
            "\n# [connector {i}/{total}] {} connector {}\n",
            dir.to_ascii_lowercase(),
            comment_text(name)
        ));
        s.push_str(&format!(
            "#   undo (for your records): {}\n",
            comment_text(&new_connector_command(c))
        ));
        s.push_str(&format!(
            "Invoke-Step {what} {{
    $c = Get-{dir}Connector -Identity {id} -ErrorAction SilentlyContinue
    if (-not $c) {{ Write-Host ('already gone: {dir_lc} connector ' + {id}); return }}
    $refs = @({domains} | ForEach-Object {{ \"$_\" }} | Where-Object {{ Test-InDomain $_ }})
    $tls = \"$({tls})\"
    if ($refs.Count -eq 0 -and -not ($tls -and (Test-InDomain $tls))) {{ throw \"it no longer names $Domain; left as it is\" }}
    $keep = @({others} | ForEach-Object {{ \"$_\" }} | Where-Object {{ -not (Test-InDomain $_) }})
    if ($keep.Count -gt 0) {{ throw \"it now serves other domains too ($($keep -join ', ')); narrow it by hand\" }}
    Remove-{dir}Connector -Identity {id} -Confirm:$false -WhatIf:$WhatIf -ErrorAction Stop
}}
",
            dir_lc = dir.to_ascii_lowercase(),
        ));
    }
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

    /// The script's text outside single-quoted literals and `#` comments (double-quoted
    /// strings count as code: PowerShell expands `$(…)` in them), read as PowerShell's
    /// tokenizer does: a quote-like character inside a literal doubled is one character.
    fn code_outside_literals(script: &str) -> String {
        let single =
            |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
        let mut code = String::new();
        let mut chars = script.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '#' {
                for n in chars.by_ref() {
                    if n == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            } else if c == '"' {
                code.push(c);
                for n in chars.by_ref() {
                    code.push(n);
                    if n == '"' {
                        break;
                    }
                }
            } else if single(c) {
                loop {
                    match chars.next() {
                        Some(n) if single(n) => {
                            if chars.peek().is_some_and(|&p| single(p)) {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => panic!("unterminated literal in {script}"),
                    }
                }
                code.push_str("''");
            } else {
                code.push(c);
            }
        }
        code
    }

    fn hostile_connector(direction: &str, name: &str) -> Value {
        let domains = if direction == "outbound" {
            "RecipientDomains"
        } else {
            "SenderDomains"
        };
        serde_json::json!({"direction": direction, "params": {
            "Name": name,
            "ConnectorType": "Partner",
            domains: [format!("contoso.example'; PWNED '"), "$(PWNED)".to_string()],
            "TlsDomain": format!("{name}.example"),
            "Enabled": true,
            "Bad Key; PWNED": "x",
        }})
    }

    #[test]
    fn connector_names_cannot_inject_code() {
        let names = [
            "Relay'; Remove-Mailbox PWNED; '",
            "$(Remove-Mailbox PWNED)",
            "`$(PWNED)` \"PWNED\"",
            "a\nRemove-Mailbox PWNED",
            "a\r\n#>PWNED<#\r\nPWNED",
            "x\u{2019}; PWNED; \u{2019}",
            "x\u{2018}\u{2018}\u{201B}; PWNED",
            "x\u{2028}PWNED\u{85}PWNED",
            "'''' PWNED",
            "#PWNED",
        ];
        let connectors: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| hostile_connector(if i % 2 == 0 { "inbound" } else { "outbound" }, n))
            .collect();
        let script = generate(&ScriptInput {
            tenant: "t'PWNED",
            domain: "contoso.example",
            initial_domain: "contoso.onmicrosoft.com",
            source: "test\nPWNED",
            changes: &[],
            connectors: &connectors,
        });
        // The reader sees code outside a literal, and a literal ended by a lone quote.
        assert!(code_outside_literals("# x\n'a''b' PWNED").contains("PWNED"));
        assert!(code_outside_literals("'a\u{2019} PWNED; 'b'").contains("PWNED"));
        let code = code_outside_literals(&script);
        assert!(!code.contains("PWNED"), "{code}");
        // Every removal is there, guarded, and -WhatIf unless -Apply.
        assert_eq!(
            script
                .matches("Remove-InboundConnector -Identity '")
                .count(),
            5
        );
        assert_eq!(
            script
                .matches("Remove-OutboundConnector -Identity '")
                .count(),
            5
        );
        assert_eq!(
            script.matches("-Confirm:$false -WhatIf:$WhatIf").count(),
            10,
            "{script}"
        );
        assert!(script.contains(&ps_quote(names[0])), "{script}");
        // The recreate command is a comment of one line each, with no parameter named by data.
        let undo: Vec<&str> = script
            .lines()
            .filter(|l| l.starts_with("#   undo (for your records): New-"))
            .collect();
        assert_eq!(undo.len(), 10, "{script}");
        assert!(undo.iter().all(|l| !l.contains("Bad Key")), "{undo:?}");
    }

    #[test]
    fn the_undo_command_quotes_every_value() {
        let v = serde_json::json!({"direction": "outbound", "params": {
            "Name": "To O'Brien", "RecipientDomains": ["contoso.example"],
            "SmartHosts": ["mx.o'brien.example"], "UseMXRecord": false, "Enabled": true,
        }});
        let cmd = new_connector_command(&v);
        assert!(cmd.starts_with("New-OutboundConnector "), "{cmd}");
        assert!(cmd.contains("-Name 'To O''Brien'"), "{cmd}");
        assert!(cmd.contains("-SmartHosts 'mx.o''brien.example'"), "{cmd}");
        assert!(cmd.contains("-UseMXRecord:$false"), "{cmd}");
        assert!(cmd.contains("-RecipientDomains 'contoso.example'"), "{cmd}");
    }
}
