//! `cutover config init` and `cutover config check`: write the commented template; validate a
//! file and name every bad field with its line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Failure, Globals, Outcome};
use crate::config::{self, ConfigError, Profile, Side, TEMPLATE};
use crate::dns::name::DomainName;
use crate::store::Paths;

/// The file a command reads: `--config FILE`, else the platform config dir's `config.toml`.
pub(crate) fn config_path(globals: &Globals) -> Result<PathBuf, Failure> {
    match &globals.config {
        Some(p) => Ok(p.clone()),
        None => Paths::config_file().ok_or_else(|| {
            Failure::Input("no home directory to find config.toml in; pass --config FILE".into())
        }),
    }
}

/// A configuration and the file it came from, for messages that tell what to add where.
pub(crate) struct Loaded {
    pub cfg: config::Config,
    pub path: PathBuf,
}

impl Loaded {
    /// The profile of `side`, or the one line saying the file names no such tenant.
    pub fn profile(&self, side: Side) -> Result<&Profile, Failure> {
        self.cfg
            .profile(side)
            .ok_or_else(|| not_configured(side, &self.path))
    }

    /// The domain to work on: `--domain`, else the configuration's.
    pub fn domain(&self, globals: &Globals) -> Result<DomainName, Failure> {
        domain_of(globals, &self.cfg).ok_or_else(|| {
            Failure::Input(format!(
                "no domain to work on: add domain = \"contoso.com\" to {} or pass --domain DOMAIN",
                self.path.display()
            ))
        })
    }
}

/// `--domain` wins over the file's `domain` (and `CUTOVER_DOMAIN`).
fn domain_of(globals: &Globals, cfg: &config::Config) -> Option<DomainName> {
    globals.domain.clone().or_else(|| cfg.domain.clone())
}

/// The one line for a command that needs a tenant the configuration does not name.
pub(crate) fn not_configured(side: Side, path: &Path) -> Failure {
    Failure::Input(format!(
        "no {name} tenant is configured: add [tenants.{name}] to {}",
        path.display(),
        name = side.name()
    ))
}

/// Load the configuration for a command that needs one.
pub(crate) fn load_config(globals: &Globals) -> Result<Loaded, Failure> {
    let path = config_path(globals)?;
    let cfg = config::load(&path).map_err(|e| Failure::Input(e.to_string()))?;
    Ok(Loaded { cfg, path })
}

/// `cutover config check [FILE]`: every problem with its line, exit 2; a file without `domain`
/// passes only with `--domain`, as the commands that need a domain would run.
pub(crate) fn config_check(globals: &Globals, file: Option<&Path>) -> Outcome {
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => config_path(globals)?,
    };
    let loaded = config::load(&path);
    let missing_domain = matches!(&loaded, Ok(cfg) if domain_of(globals, cfg).is_none());
    match loaded {
        Ok(cfg) if !missing_domain => {
            let domain = match (&globals.domain, &cfg.domain) {
                (Some(given), _) => format!("{} from --domain", given.display_both()),
                (None, Some(d)) => d.display_both(),
                (None, None) => String::new(),
            };
            let managed = |p: &Profile| match p.provider {
                Some(provider) => format!(", managed by provider {}", provider.name()),
                None => String::new(),
            };
            let destination = match &cfg.destination {
                Some(d) => format!(
                    "destination {} via {}{}",
                    d.tenant,
                    d.auth.name(),
                    managed(d)
                ),
                None => "destination not configured".to_string(),
            };
            println!(
                "{}: ok (domain {domain}, source {} via {}{}, {destination})",
                path.display(),
                cfg.source.tenant,
                cfg.source.auth.name(),
                managed(&cfg.source),
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => report_problems(
            &path,
            &[config::Problem {
                line: None,
                message: "domain is missing: name the custom domain being moved, e.g. domain = \"contoso.com\", or give --domain DOMAIN to every command".into(),
            }],
        ),
        Err(ConfigError::Invalid { path, problems }) => report_problems(&path, &problems),
        Err(e) => Err(Failure::Input(e.to_string())),
    }
}

/// One line per problem, so an editor or a person can walk them in order; exit 2.
fn report_problems(path: &Path, problems: &[config::Problem]) -> Outcome {
    let mut err = std::io::stderr().lock();
    for p in problems {
        let _ = writeln!(err, "{}: {p}", path.display());
    }
    let _ = writeln!(
        err,
        "cutover: {} problem{} in {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        path.display()
    );
    Ok(ExitCode::from(2))
}

/// `cutover config init`: the commented template, never overwriting.
pub(crate) fn config_init(globals: &Globals, out: Option<&Path>) -> Outcome {
    let path = match out {
        Some(f) => f.to_path_buf(),
        None => config_path(globals)?,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Input(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_new_private(&path, TEMPLATE.as_bytes())?;
    println!(
        "wrote {}; fill in the tenants, then run 'cutover config check'",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Create `path` owner-only (it may come to hold a client secret); never overwrite.
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::Input(format!(
                "{} already exists; cutover does not overwrite it (remove it or use --out)",
                path.display()
            ))
        } else {
            Failure::Input(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Input(format!("cannot write {}: {e}", path.display())))
}

/// First line of a file `sim serve --write-config` wrote; only such a file is replaced.
const SIM_MARKER: &str = "# Written by 'cutover sim serve --write-config'";

/// A configuration whose profiles point at the running rehearsal environment: cloud =
/// custom, client-secret sign-in with the generated secrets in the file (they are throwaway
/// values derived from the seed, and `sim serve` prints them anyway).
pub(crate) fn sim_config(sim: &crate::sim::Sim) -> String {
    format!(
        "{SIM_MARKER} for the rehearsal environment at {}.\n\
         # Ports change on every run; the file is rewritten each time.\n{}",
        sim.graph_url(),
        sim.config_toml()
    )
}

/// Write the sim's TSIG key file (mode 0600), replacing only a key file of the sim's own key
/// (its secret changes with the seed).
pub(crate) fn write_sim_key(path: &Path, text: &str) -> Result<(), Failure> {
    let ours = format!("key \"{}\"", crate::sim::UPDATE_KEY_NAME);
    match std::fs::read_to_string(path) {
        Ok(old) if old.starts_with(&ours) => std::fs::remove_file(path)
            .map_err(|e| Failure::Input(format!("cannot replace {}: {e}", path.display())))?,
        Ok(_) => {
            return Err(Failure::Input(format!(
                "{} exists and is not the rehearsal's key file; choose another config path",
                path.display()
            )));
        }
        Err(_) => {}
    }
    write_new_private(path, text.as_bytes())
}

/// Write the sim's config to `path`, replacing only a file this command wrote before.
pub(crate) fn write_sim_config(path: &Path, text: &str) -> Result<(), Failure> {
    match std::fs::read_to_string(path) {
        Ok(old) if old.starts_with(SIM_MARKER) => crate::store::write_atomic(path, text.as_bytes())
            .map_err(|e| Failure::Input(format!("cannot write {}: {e}", path.display()))),
        Ok(_) => Err(Failure::Input(format!(
            "{} exists and was not written by 'sim serve --write-config'; choose another file",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_new_private(path, text.as_bytes())
        }
        Err(e) => Err(Failure::Input(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}
