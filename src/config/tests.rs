//! Parsing and validation of config files: fixtures under `tests/config/`, the template, and
//! environment overrides.

use super::*;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn problems(text: &str) -> Vec<String> {
    parse(text, &no_env)
        .expect_err("should be invalid")
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn valid_fixture_with_secret_env_parses() {
    let cfg = parse(&fixture("valid-secret-env.toml"), &no_env).expect("valid");
    assert_eq!(
        cfg.domain.as_ref().map(|d| d.ascii.as_str()),
        Some("contoso.example")
    );
    assert_eq!(cfg.nameservers.len(), 2);
    assert_eq!(cfg.nameservers[1].port(), 53);
    assert_eq!(cfg.source.auth, AuthMethod::ClientSecret);
    assert_eq!(
        cfg.source.secret,
        Some(SecretSource::Env("FIXTURE_SOURCE_SECRET".into()))
    );
    assert_eq!(cfg.source.cloud, Cloud::Global);
    assert_eq!(destination(&cfg).auth, AuthMethod::DeviceCode);
    assert_eq!(destination(&cfg).cloud, Cloud::UsGov);
    assert_eq!(
        destination(&cfg).cloud.endpoints().graph_url,
        "https://graph.microsoft.us"
    );
    assert_eq!(
        destination(&cfg).cloud.graph_scope(),
        "https://graph.microsoft.us/.default"
    );
}

#[test]
fn valid_custom_fixture_strips_trailing_slash() {
    let cfg = parse(&fixture("valid-custom.toml"), &no_env).expect("valid");
    let Cloud::Custom(e) = &cfg.source.cloud else {
        panic!("custom expected: {:?}", cfg.source.cloud)
    };
    assert_eq!(e.login_url, "http://127.0.0.1:8080");
    assert_eq!(cfg.source.auth, AuthMethod::Certificate);
    assert_eq!(
        cfg.source.certificate.as_deref(),
        Some(std::path::Path::new("/etc/cutover/source.pem"))
    );
    assert_eq!(destination(&cfg).cloud, Cloud::China);
    assert_eq!(
        destination(&cfg).client_secret().as_deref(),
        Ok("inline-secret-value")
    );
    // Debug output never carries the inline secret.
    assert!(!format!("{cfg:?}").contains("inline-secret-value"));
}

#[test]
fn every_problem_is_named_with_its_line() {
    let p = problems(&fixture("invalid-many.toml"));
    let expect = [
        "line 1: domain: 'not a domain'",
        "line 2: unknown key 'colour'",
        "line 6: tenants.source.client_id 'not-a-guid' is not a GUID",
        "line 7: tenants.source.auth 'password'",
        "line 10: tenants.source.graph_url is only used with cloud = \"custom\"",
        "line 16: tenants.destination.cloud 'mars'",
        "line 17: unknown key 'tenants.destination.secret'",
        "tenants.destination uses client-secret but has neither",
    ];
    for e in expect {
        assert!(
            p.iter().any(|l| l.starts_with(e)),
            "missing {e:?} in {p:#?}"
        );
    }
    assert_eq!(p.len(), expect.len(), "{p:#?}");
}

#[test]
fn syntax_error_has_a_line() {
    let p = problems(&fixture("invalid-syntax.toml"));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("line 3: not valid TOML"), "{p:?}");
}

#[test]
fn custom_cloud_needs_all_urls_and_certificate_needs_a_path() {
    let p = problems(&fixture("invalid-custom-missing-urls.toml"));
    for e in [
        "line 9: tenants.source.login_url: 'ftp://login.example' must start with https://",
        "tenants.source.graph_url is missing",
        "tenants.source.exchange_url is missing",
        "tenants.destination uses certificate but has no certificate path",
    ] {
        assert!(
            p.iter().any(|l| l.starts_with(e)),
            "missing {e:?} in {p:#?}"
        );
    }
}

fn destination(cfg: &super::Config) -> &super::Profile {
    cfg.destination.as_ref().expect("a destination profile")
}

#[test]
fn missing_source_is_reported_and_domain_and_destination_are_optional() {
    let p = problems("");
    assert!(
        p.iter()
            .any(|l| l.starts_with("[tenants.source] is missing")),
        "{p:?}"
    );
    // The domain can come from --domain and a domain being freed has no destination.
    assert!(!p.iter().any(|l| l.contains("domain is missing")), "{p:?}");
    assert!(
        !p.iter().any(|l| l.contains("tenants.destination")),
        "{p:?}"
    );
}

const SOURCE_ONLY: &str = "[tenants.source]\ntenant = \"a.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nauth = \"device-code\"\n";

#[test]
fn a_source_alone_is_a_configuration() {
    let cfg = parse(SOURCE_ONLY, &no_env).expect("source alone is valid");
    assert_eq!(cfg.destination, None);
    assert_eq!(cfg.domain, None);
    assert!(cfg.profile(super::Side::Destination).is_none());
    assert_eq!(
        cfg.profile(super::Side::Source).map(|p| p.tenant.as_str()),
        Some("a.onmicrosoft.com")
    );
}

#[test]
fn the_domain_goes_through_the_one_domain_check() {
    let text = format!("domain = \"bücher.example\"\n{SOURCE_ONLY}");
    let cfg = parse(&text, &no_env).expect("IDN domain is valid");
    let d = cfg.domain.expect("domain");
    assert_eq!(d.ascii, "xn--bcher-kva.example");
    assert_eq!(d.display_both(), "bücher.example (xn--bcher-kva.example)");
    for bad in ["a..b", "-x.com", "exa mple.com", ""] {
        let text = format!("\n\ndomain = \"{bad}\"\n{SOURCE_ONLY}");
        let p = problems(&text);
        assert!(
            p.iter().any(|l| l.starts_with("line 3: domain: ")),
            "{bad:?}: {p:?}"
        );
    }
    let long = format!("domain = \"{}example\"\n{SOURCE_ONLY}", "a.".repeat(150));
    assert!(problems(&long).iter().any(|l| l.contains("at most 253")));
}

#[test]
fn environment_overrides_the_file() {
    let env = |name: &str| match name {
        "CUTOVER_DOMAIN" => Some("fabrikam.example".to_string()),
        "CUTOVER_SOURCE_CLIENT_SECRET" => Some("from-env".to_string()),
        "CUTOVER_DESTINATION_TENANT" => Some("other.onmicrosoft.com".to_string()),
        _ => None,
    };
    let cfg = parse(&fixture("valid-secret-env.toml"), &env).expect("valid");
    assert_eq!(
        cfg.domain.as_ref().map(|d| d.ascii.as_str()),
        Some("fabrikam.example")
    );
    assert_eq!(cfg.source.client_secret().as_deref(), Ok("from-env"));
    assert_eq!(destination(&cfg).tenant, "other.onmicrosoft.com");
}

#[test]
fn environment_can_complete_a_profile() {
    let text = "domain = \"contoso.example\"\n[tenants.source]\ntenant = \"a.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nauth = \"client-secret\"\n";
    assert!(parse(text, &no_env).is_err());
    let env = |name: &str| match name {
        "CUTOVER_SOURCE_CLIENT_SECRET" => Some("s".to_string()),
        "CUTOVER_DESTINATION_TENANT" => Some("b.onmicrosoft.com".to_string()),
        "CUTOVER_DESTINATION_CLIENT_ID" => Some("66666666-7777-8888-9999-000000000000".to_string()),
        "CUTOVER_DESTINATION_AUTH" => Some("device-code".to_string()),
        _ => None,
    };
    let cfg = parse(text, &env).expect("env completes it");
    assert_eq!(destination(&cfg).tenant, "b.onmicrosoft.com");
}

#[test]
fn template_parses_and_names_every_key() {
    let cfg = parse(TEMPLATE, &no_env).expect("template is valid");
    assert_eq!(destination(&cfg).auth, AuthMethod::DeviceCode);
    for key in super::PROFILE_KEYS {
        assert!(TEMPLATE.contains(key), "template lacks {key}");
    }
}

#[test]
fn wrong_types_are_named() {
    let p = problems("domain = 5\n[tenants]\nsource = 1\n");
    assert!(
        p.iter()
            .any(|l| l.starts_with("line 1: domain must be a string")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("line 3: tenants.source must be a table")),
        "{p:?}"
    );
}

const PFX_PROFILE: &str = r#"domain = "contoso.example"

[tenants.source]
tenant = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
auth = "certificate"
certificate = "CERT"
certificate_password_env = "VAR"
cloud = "global"

[tenants.destination]
tenant = "fabrikam.onmicrosoft.com"
client_id = "66666666-7777-8888-9999-000000000000"
auth = "device-code"
cloud = "global"
"#;

#[test]
fn pfx_password_comes_from_a_named_variable() {
    let ok = PFX_PROFILE
        .replace("CERT", "/etc/cutover/source.PFX")
        .replace("VAR", "SOURCE_PFX_PASSWORD");
    let cfg = parse(&ok, &no_env).expect("valid");
    assert_eq!(
        cfg.source.certificate_password_env.as_deref(),
        Some("SOURCE_PFX_PASSWORD")
    );
    assert!(is_pfx(cfg.source.certificate.as_deref().expect("path")));

    // Each mistake names the key and its line (line 8).
    let bad_name = PFX_PROFILE
        .replace("CERT", "/etc/cutover/source.p12")
        .replace("VAR", "not a name");
    assert_eq!(
        problems(&bad_name),
        [
            "line 8: tenants.source.certificate_password_env 'not a name' is not an environment variable name"
        ]
    );
    let with_pem = PFX_PROFILE
        .replace("CERT", "/etc/cutover/source.pem")
        .replace("VAR", "SOURCE_PFX_PASSWORD");
    assert_eq!(
        problems(&with_pem),
        [
            "line 8: tenants.source.certificate_password_env is only used with a .pfx or .p12 certificate"
        ]
    );
    let with_secret = ok
        .replace(
            "auth = \"certificate\"",
            "auth = \"client-secret\"\nclient_secret = \"s\"",
        )
        .replace("certificate = \"/etc/cutover/source.PFX\"\n", "");
    let p = problems(&with_secret);
    assert!(
        p.iter().any(|l| l.ends_with(
            "tenants.source.certificate_password_env is only used with auth = \"certificate\""
        )),
        "{p:?}"
    );
}

#[test]
fn cutover_at_is_the_admins_t_with_its_zone_or_a_problem_on_its_line() {
    let cfg = parse(SOURCE_ONLY, &no_env).expect("valid");
    assert_eq!(cfg.cutover_at, None, "no T unless the admin writes one");
    for line in [
        "cutover_at = \"2026-12-05T19:00+01:00\"\n",
        "cutover_at = 2026-12-05T18:00:00Z\n",
    ] {
        let cfg = parse(&format!("{line}{SOURCE_ONLY}"), &no_env).expect(line);
        assert_eq!(
            cfg.cutover_at,
            Some(time::macros::datetime!(2026-12-05 18:00 UTC)),
            "{line}"
        );
    }
    let found = problems(&format!(
        "domain = \"contoso.example\"\ncutover_at = \"2026-12-05 18:00\"\n{SOURCE_ONLY}"
    ));
    assert!(
        found.iter().any(|p| p.starts_with("line 2:")
            && p.contains("cutover_at")
            && p.contains("no time zone")),
        "{found:?}"
    );
    let found = problems(&format!("cutover_at = 5\n{SOURCE_ONLY}"));
    assert!(
        found
            .iter()
            .any(|p| p.contains("cutover_at must be a time")),
        "{found:?}"
    );
}

#[test]
fn dns_update_section_is_checked_and_never_holds_the_secret() {
    let base = fixture("valid-secret-env.toml");
    let with = |section: &str| format!("{base}\n{section}");
    let cfg = parse(
        &with(
            "[dns.update]\nserver = \"192.0.2.53\"\nkey_name = \"k\"\nkey_env = \"TSIG_SECRET\"\n",
        ),
        &no_env,
    )
    .expect("valid");
    let u = cfg.dns_update.expect("section");
    assert_eq!(u.server.port(), 53);
    assert_eq!(u.algorithm, "hmac-sha256");
    assert_eq!(u.zone, None);
    assert_eq!(
        u.key,
        crate::dns::update::KeySource::Env("TSIG_SECRET".into())
    );
    let p = problems(&with(
        "[dns.update]\nserver = \"192.0.2.53\"\nkey_name = \"k\"\nsecret = \"c2VjcmV0\"\n",
    ));
    assert!(
        p.iter().any(|m| m.contains("not read from the config")),
        "{p:?}"
    );
    assert!(p.iter().all(|m| !m.contains("c2VjcmV0")), "{p:?}");
    let p = problems(&with(
        "[dns.update]\nserver = \"nowhere\"\nkey_name = \"k\"\nkey_file = \"a\"\nkey_env = \"B\"\nalgorithm = \"hmac-md5\"\n",
    ));
    assert!(p.iter().any(|m| m.contains("dns.update.server")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("not both")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("hmac-md5")), "{p:?}");
}

#[test]
fn theme_is_read_and_a_bad_one_named_with_its_line() {
    let text = fixture("valid-secret-env.toml");
    let cfg = parse(&format!("theme = \"high-contrast\"\n{text}"), &no_env).expect("valid");
    assert_eq!(cfg.theme, Some(crate::ui::theme::Palette::HighContrast));
    assert_eq!(parse(&text, &no_env).expect("valid").theme, None);
    let found = problems(&format!("\ntheme = \"neon\"\n{text}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("line 2: theme: unknown theme 'neon'"),
        "{found:?}"
    );
}

#[test]
fn provider_is_read_and_a_bad_one_named_with_its_key_and_the_allowed_values() {
    let profile = PFX_PROFILE
        .replace("CERT", "/etc/cutover/source.pfx")
        .replace("VAR", "SOURCE_PFX_PASSWORD");
    let cfg = parse(&profile, &no_env).expect("valid");
    assert_eq!(cfg.source.provider, None);
    let with = profile.replacen(
        "cloud = \"global\"",
        "cloud = \"global\"\nprovider = \"ionos\"",
        1,
    );
    let cfg = parse(&with, &no_env).expect("valid");
    assert_eq!(cfg.source.provider, Some(Provider::Ionos));
    assert_eq!(destination(&cfg).provider, None);
    let bad = profile.replacen(
        "cloud = \"global\"",
        "cloud = \"global\"\nprovider = \"strato\"",
        1,
    );
    let found = problems(&bad);
    assert_eq!(
        found,
        [
            "line 10: tenants.source.provider 'strato' is not one of ionos, telekom, csp, other (leave it out when the tenant is not managed by a provider)"
        ]
    );
}
