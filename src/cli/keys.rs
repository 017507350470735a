//! The keys and the look of the dashboard: the keymap (defaults with the user's `keys.toml`
//! over them) and the colour palette, chosen once before the dashboard or demo opens; and
//! `cutover keys`, which prints the key table in effect.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Failure, Globals, Outcome};
use crate::app::keys::{self, Keymap};
use crate::ui::theme::{self, Palette};

/// The user's keys file: `keys.toml` beside the configuration file (`--config`, else the
/// platform config dir's); none without a home directory.
fn keys_file(globals: &Globals) -> Option<PathBuf> {
    super::config::config_path(globals)
        .ok()
        .map(|c| keys::user_file(&c))
}

/// The keymap in effect; a bad keys file is bad input (its file and line, exit 2).
fn load(globals: &Globals) -> Result<Keymap, Failure> {
    match keys_file(globals) {
        Some(path) => Keymap::load(&path).map_err(|e| Failure::Input(e.to_string())),
        None => Ok(Keymap::defaults()),
    }
}

/// Before the dashboard or demo opens: install the keymap and the palette.
pub(crate) fn prepare_look(
    globals: &Globals,
    flag: Option<Palette>,
    config: Option<Palette>,
) -> Result<(), Failure> {
    keys::install(load(globals)?);
    let no_color = std::env::var("NO_COLOR").ok();
    theme::set(Palette::choose(flag, no_color.as_deref(), config));
    Ok(())
}

/// `cutover keys`: the key table in effect, as Markdown (README's table is the defaults').
pub(crate) fn keys_command(globals: &Globals) -> Outcome {
    print!("{}", load(globals)?.markdown());
    Ok(ExitCode::SUCCESS)
}

/// `--theme NAME` as clap takes it.
pub fn theme_name(s: &str) -> Result<Palette, String> {
    Palette::parse(s)
}
