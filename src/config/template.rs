//! The commented template `cutover config init` writes.

/// Parses once the placeholders are filled in; the tests check that.
pub const TEMPLATE: &str = r#"# cutover configuration. Check it with: cutover config check
# Environment variables override the file: CUTOVER_DOMAIN, and for each side
# (SOURCE or DESTINATION) CUTOVER_<SIDE>_TENANT, _CLIENT_ID, _AUTH, _CLIENT_SECRET,
# _CERTIFICATE, _CLOUD, e.g. CUTOVER_SOURCE_CLIENT_SECRET.

# The custom domain being moved from the source tenant to the destination tenant (or freed
# from the source). Unicode IDN is accepted (bücher.example). Leave it out to give it with
# --domain on each command instead; --domain wins over this line.
domain = "contoso.com"

# The cutover time T, with its zone (Z for UTC, or an offset such as +01:00). Leave it out
# until it is agreed: the timeline then shows offsets only and says "T not set". T set in
# the timeline (t) wins over this line, and --cutover wins over both.
# cutover_at = "2026-12-05T18:00Z"

# The dashboard's colours: "standard", "high-contrast" (bright, no grey) or "no-color".
# NO_COLOR in the environment wins over this line, and --theme over both. Keys are changed in
# keys.toml beside this file (see 'cutover keys').
# theme = "high-contrast"

# Nameservers the DNS pane asks, "address" or "address:port". Leave out to use public
# resolvers (1.1.1.1 and 8.8.8.8); name the domain's authoritative servers to see changes
# without caches in the way.
# [dns]
# nameservers = ["192.0.2.53"]
# DNS blocklist zones the MX hosts' addresses are checked on. Many lists refuse queries from
# public resolvers; cutover reports those answers as "not checked".
# blocklists = ["zen.spamhaus.org", "bl.spamcop.net"]
# Port the zone's authoritative servers (found through NS) listen on; 53 on the Internet.
# authoritative_port = 53
# Further records to watch beside the Microsoft 365 set, as "NAME/TYPE".
# names = ["mail.contoso.com/CNAME", "_mta-sts.contoso.com/TXT"]
# Whether this machine's own resolvers (/etc/resolv.conf) join the propagation view.
# system_resolvers = true
# DNS changes of 'cutover apply' sent as RFC 2136 updates signed with TSIG to the zone's primary;
# without this section cutover prints instructions for the DNS host and watches the zone.
# [dns.update]
# server = "192.0.2.53:53"
# key_name = "cutover-update"
# algorithm = "hmac-sha256"
# The secret: a file (mode 0600; tsig-keygen's output or the base64 secret) or a variable.
# key_file = "/etc/cutover/cutover-update.key"

[tenants.source]
# Tenant id (GUID) or any verified domain of the tenant, e.g. contoso.onmicrosoft.com.
tenant = "contoso.onmicrosoft.com"
# Application (client) id of the app registration in this tenant.
client_id = "00000000-0000-0000-0000-000000000000"
# How to sign in: "device-code" (an admin signs in with a code, delegated permissions),
# "client-secret" or "certificate" (app-only, application permissions).
auth = "client-secret"
# The secret itself (keep this file private) or, better, the name of a variable holding it.
client_secret_env = "CUTOVER_SOURCE_SECRET"
# For auth = "certificate": a PEM file with the certificate and its PKCS#8 private key, or a
# PFX/PKCS#12 file (.pfx, .p12) and the name of a variable holding its password, if it has one.
# certificate = "/path/to/source-app.pem"
# certificate = "/path/to/source-app.pfx"
# certificate_password_env = "CUTOVER_SOURCE_PFX_PASSWORD"
# "global", "usgov" (GCC High), "china" (21Vianet) or "custom" with all three URLs:
cloud = "global"
# login_url = "https://login.example"
# graph_url = "https://graph.example"
# exchange_url = "https://exchange.example"
# Who manages this tenant's users besides Microsoft's admin centre, when the Microsoft 365
# subscription came from a provider: "ionos", "telekom" (TelekomCLOUD), "csp" (a Cloud
# Solution Provider partner) or "other". The runbook then gains the provider's manual steps
# (its portal renames or deletes users first), and plans mark the user changes its portal
# must make. Leave it out for a tenant bought from Microsoft directly.
# provider = "ionos"

# The tenant the domain moves to. Optional: leave this section out when the domain is only
# being freed, e.g. after cancelling a hoster's Microsoft 365 (IONOS, TelekomCLOUD) before it
# is added anywhere else. The dashboard then watches the source alone, and commands that need
# the destination say so.
[tenants.destination]
tenant = "fabrikam.onmicrosoft.com"
client_id = "00000000-0000-0000-0000-000000000000"
auth = "device-code"
cloud = "global"
"#;
