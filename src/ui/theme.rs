//! Colours and styles, in one place. A calm palette: plain text on the terminal's background,
//! colour only where it carries meaning (focus, ok, warning, error, recent change).
//!
//! Three palettes: the standard one; `no-color` (chosen by `NO_COLOR`, see no-color.org: no
//! colour at all, emphasis by bold and reverse only); `high-contrast` (bright colours, no grey,
//! bold where the standard one relies on a hue alone).

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    #[default]
    Standard,
    NoColor,
    HighContrast,
}

impl Palette {
    pub const NAMES: &str = "standard, high-contrast, no-color";

    pub fn parse(name: &str) -> Result<Palette, String> {
        match name {
            "standard" => Ok(Palette::Standard),
            "high-contrast" => Ok(Palette::HighContrast),
            "no-color" => Ok(Palette::NoColor),
            other => Err(format!(
                "unknown theme '{other}' (expected one of: {})",
                Palette::NAMES
            )),
        }
    }

    /// The palette for this session: a `--theme` given wins, then `NO_COLOR` (set and not
    /// empty), then the configuration's `theme`.
    pub fn choose(flag: Option<Palette>, no_color: Option<&str>, config: Option<Palette>) -> Self {
        match (flag, no_color) {
            (Some(p), _) => p,
            (None, Some(v)) if !v.is_empty() => Palette::NoColor,
            _ => config.unwrap_or_default(),
        }
    }

    fn code(self) -> u8 {
        match self {
            Palette::Standard => 0,
            Palette::NoColor => 1,
            Palette::HighContrast => 2,
        }
    }

    fn of_code(code: u8) -> Palette {
        match code {
            1 => Palette::NoColor,
            2 => Palette::HighContrast,
            _ => Palette::Standard,
        }
    }
}

/// The process's palette, set once at start ([`set`]); every style below reads it, so the
/// panes need not pass it around.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

thread_local! {
    /// A palette for this thread only ([`Scoped`]): renders to a test backend use it so tests
    /// of different palettes can run side by side.
    static SCOPED: Cell<Option<Palette>> = const { Cell::new(None) };
}

/// Use `palette` for the rest of the process.
pub fn set(palette: Palette) {
    ACTIVE.store(palette.code(), Ordering::Relaxed);
}

/// Use `palette` on this thread while the guard lives.
pub struct Scoped(Option<Palette>);

impl Scoped {
    pub fn new(palette: Palette) -> Scoped {
        Scoped(SCOPED.with(|s| s.replace(Some(palette))))
    }
}

impl Drop for Scoped {
    fn drop(&mut self) {
        SCOPED.with(|s| s.set(self.0));
    }
}

pub fn palette() -> Palette {
    SCOPED
        .with(|s| s.get())
        .unwrap_or_else(|| Palette::of_code(ACTIVE.load(Ordering::Relaxed)))
}

const ACCENT: Color = Color::Cyan;
const MUTED: Color = Color::DarkGray;

/// Pick the style of the palette in use.
fn pick(standard: Style, no_color: Style, high_contrast: Style) -> Style {
    match palette() {
        Palette::Standard => standard,
        Palette::NoColor => no_color,
        Palette::HighContrast => high_contrast,
    }
}

const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
const PLAIN: Style = Style::new();

pub fn border(focused: bool) -> Style {
    if focused {
        pick(Style::new().fg(ACCENT), BOLD, BOLD.fg(Color::Yellow))
    } else {
        pick(Style::new().fg(MUTED), PLAIN, Style::new().fg(Color::White))
    }
}

pub fn title(focused: bool) -> Style {
    if focused {
        pick(
            BOLD.fg(ACCENT),
            BOLD.add_modifier(Modifier::REVERSED),
            BOLD.fg(Color::Yellow),
        )
    } else {
        PLAIN
    }
}

pub fn header() -> Style {
    pick(BOLD, BOLD, BOLD.add_modifier(Modifier::UNDERLINED))
}

/// The selected row; fainter when its pane is not focused, so one selection stands out.
pub fn selected(focused: bool) -> Style {
    if focused {
        pick(
            Style::new().bg(Color::Blue).fg(Color::White),
            BOLD.add_modifier(Modifier::REVERSED),
            BOLD.bg(Color::Yellow).fg(Color::Black),
        )
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

pub fn ok() -> Style {
    pick(
        Style::new().fg(Color::Green),
        PLAIN,
        BOLD.fg(Color::LightGreen),
    )
}

pub fn warn() -> Style {
    pick(
        Style::new().fg(Color::Yellow),
        BOLD,
        BOLD.fg(Color::LightYellow),
    )
}

pub fn error() -> Style {
    pick(
        Style::new().fg(Color::Red),
        BOLD.add_modifier(Modifier::REVERSED),
        BOLD.fg(Color::LightRed),
    )
}

pub fn dim() -> Style {
    pick(Style::new().fg(MUTED), PLAIN, Style::new().fg(Color::White))
}

/// A DNS row that changed within the last minute.
pub fn changed() -> Style {
    pick(
        BOLD.fg(Color::Yellow),
        BOLD,
        BOLD.fg(Color::LightYellow)
            .add_modifier(Modifier::UNDERLINED),
    )
}

pub fn phase() -> Style {
    pick(BOLD.fg(ACCENT), BOLD, BOLD.fg(Color::LightCyan))
}

/// The banner that says changes are refused: the loudest thing on screen.
pub fn alarm() -> Style {
    pick(
        BOLD.fg(Color::White).bg(Color::Red),
        BOLD.add_modifier(Modifier::REVERSED),
        BOLD.fg(Color::White).bg(Color::Red),
    )
}

pub fn status_bar() -> Style {
    PLAIN
}

pub fn prompt() -> Style {
    pick(BOLD.fg(ACCENT), BOLD, BOLD.fg(Color::Yellow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_unless_a_theme_is_asked_for() {
        let hc = Some(Palette::HighContrast);
        assert_eq!(Palette::choose(None, Some("1"), hc), Palette::NoColor);
        assert_eq!(Palette::choose(None, Some(""), hc), Palette::HighContrast);
        assert_eq!(Palette::choose(hc, Some("1"), None), Palette::HighContrast);
        assert_eq!(Palette::choose(None, None, None), Palette::Standard);
    }

    #[test]
    fn no_color_has_no_colour() {
        let _p = Scoped::new(Palette::NoColor);
        for style in [
            border(true),
            border(false),
            title(true),
            header(),
            selected(true),
            selected(false),
            ok(),
            warn(),
            error(),
            dim(),
            changed(),
            phase(),
            prompt(),
            alarm(),
        ] {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
    }
}
