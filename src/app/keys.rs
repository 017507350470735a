//! Key presses → actions. The bindings are data: the defaults in `assets/keys.toml`, a user's
//! partial overrides in `keys.toml` beside `config.toml`. The help overlay and README's key
//! table are generated from the same [`Keymap`] ([`Keymap::help_rows`]), so neither can drift
//! from what the keys do.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use toml::de::{DeTable, DeValue};

use super::action::Action;
use super::state::{InputMode, Pane, State};
use super::workbench::{Dialog, RunKind};

/// The default bindings, compiled in.
pub const DEFAULT_KEYS: &str = include_str!("../../assets/keys.toml");

/// Where a binding applies. The sections of `keys.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Normal,
    Timeline,
    Dns,
    Audit,
    Filter,
    CutoverTime,
    Help,
    AuditDetails,
    SignIn,
    Users,
    Preview,
    Confirm,
    StepText,
    StepDetails,
    Connections,
}

impl Context {
    const ALL: [Context; 16] = [
        Context::Global,
        Context::Normal,
        Context::Timeline,
        Context::Dns,
        Context::Audit,
        Context::Filter,
        Context::CutoverTime,
        Context::Help,
        Context::AuditDetails,
        Context::SignIn,
        Context::Users,
        Context::Preview,
        Context::Confirm,
        Context::StepText,
        Context::StepDetails,
        Context::Connections,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Normal => "normal",
            Context::Timeline => "timeline",
            Context::Dns => "dns",
            Context::Audit => "audit",
            Context::Filter => "filter",
            Context::CutoverTime => "cutover_time",
            Context::Help => "help",
            Context::AuditDetails => "audit_details",
            Context::SignIn => "sign_in",
            Context::Users => "users",
            Context::Preview => "preview",
            Context::Confirm => "confirm",
            Context::StepText => "step_text",
            Context::StepDetails => "step_details",
            Context::Connections => "connections",
        }
    }

    /// How the help table marks a key of this context (the normal one is unmarked).
    fn suffix(self) -> &'static str {
        match self {
            Context::Global => " (anywhere)",
            Context::Normal => "",
            Context::Timeline => " (timeline)",
            Context::Dns => " (DNS)",
            Context::Audit => " (audit)",
            Context::Filter => " (filter)",
            Context::CutoverTime => " (T)",
            Context::Help => " (help)",
            Context::AuditDetails => " (details)",
            Context::SignIn => " (sign-in dialog)",
            Context::Users => " (users)",
            Context::Preview => " (preview)",
            Context::Confirm => " (confirm)",
            Context::StepText => " (reason, note)",
            Context::StepDetails => " (step)",
            Context::Connections => " (connections)",
        }
    }

    /// Contexts where unbound characters are typed: a plain character bound there could not
    /// be typed any more.
    fn types_text(self) -> bool {
        matches!(
            self,
            Context::Filter | Context::CutoverTime | Context::Confirm | Context::StepText
        )
    }
}

/// How the help names a group of contexts: ` (help, details)`; the normal one is unmarked.
fn suffix_of(contexts: &[Context]) -> String {
    match contexts {
        [one] => one.suffix().to_string(),
        many => format!(
            " ({})",
            many.iter()
                .map(|c| c
                    .suffix()
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')'))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// One action a key can be bound to, and what the help says it does. `with_prev`: shown on
/// the help row of the action before it (`Up, k / Down, j`), so the overlay fits 80x24.
struct Def {
    context: Context,
    name: &'static str,
    help: &'static str,
    with_prev: bool,
}

const fn def(context: Context, name: &'static str, help: &'static str) -> Def {
    Def {
        context,
        name,
        help,
        with_prev: false,
    }
}

const fn and(context: Context, name: &'static str) -> Def {
    Def {
        context,
        name,
        help: "",
        with_prev: true,
    }
}

/// A help line with no key of its own (continues the line above).
const fn note(context: Context, help: &'static str) -> Def {
    def(context, "", help)
}

use Context as C;

/// Every action, in help order. A new action needs a line here, a line in [`action_of`] and a
/// default in `assets/keys.toml` (the tests check all three agree).
const DEFS: &[Def] = &[
    def(C::Normal, "quit", "quit"),
    and(C::Global, "quit"),
    def(
        C::Normal,
        "help",
        "show / hide this help (Esc also closes it)",
    ),
    def(C::Normal, "focus_next", "next / previous pane"),
    and(C::Normal, "focus_prev"),
    def(C::Normal, "focus_domain", "jump to pane 1 to 6"),
    and(C::Normal, "focus_dns"),
    and(C::Normal, "focus_users"),
    and(C::Normal, "focus_timeline"),
    and(C::Normal, "focus_audit"),
    and(C::Normal, "focus_connections"),
    def(C::Normal, "up", "move the selection"),
    and(C::Normal, "down"),
    def(C::Normal, "page_up", "move a page"),
    and(C::Normal, "page_down"),
    def(C::Normal, "top", "first / last row"),
    and(C::Normal, "bottom"),
    def(
        C::Normal,
        "filter",
        "filter the focused list (DNS, users, timeline, audit, connections)",
    ),
    note(
        C::Normal,
        "on Audit: words, kind:K[,K] tenant:T object:X since:T until:T",
    ),
    note(
        C::Normal,
        "T: HH:MM (UTC, day of the newest line) or YYYY-MM-DD[THH:MM]",
    ),
    def(C::Filter, "apply", "keep / drop the filter being typed"),
    and(C::Filter, "cancel"),
    def(C::Filter, "backspace", "delete the last character"),
    and(C::CutoverTime, "backspace"),
    and(C::Confirm, "backspace"),
    and(C::StepText, "backspace"),
    def(C::Normal, "clear_filter", "clear the focused pane's filter"),
    def(
        C::Timeline,
        "details",
        "step details (gate, seen, note, action) / next open step",
    ),
    and(C::Timeline, "next"),
    def(
        C::Timeline,
        "done",
        "done by hand / skipped, failed (asks why) / automatic",
    ),
    and(C::Timeline, "skip"),
    and(C::Timeline, "fail"),
    and(C::Timeline, "clear"),
    def(
        C::StepDetails,
        "note",
        "edit the note / run the step's action / close",
    ),
    and(C::StepDetails, "action"),
    and(C::StepDetails, "close"),
    def(
        C::Timeline,
        "set_time",
        "set the cutover time T (e.g. 2026-12-05T18:00Z)",
    ),
    def(C::CutoverTime, "apply", "set T / leave it as it was"),
    and(C::CutoverTime, "cancel"),
    def(C::StepText, "apply", "save the reason or note / leave it"),
    and(C::StepText, "cancel"),
    def(
        C::Dns,
        "view",
        "records / expected vs actual / propagation / TTL plan",
    ),
    def(
        C::Audit,
        "details",
        "details of the selected entry: before/after diff",
    ),
    def(
        C::AuditDetails,
        "close",
        "close the details; the next two show the next entry",
    ),
    and(C::AuditDetails, "up"),
    and(C::AuditDetails, "down"),
    def(
        C::Users,
        "select",
        "select the row / a range from the last one / all shown",
    ),
    and(C::Users, "select_range"),
    and(C::Users, "select_all"),
    def(
        C::Users,
        "preview",
        "preview the exact changes of the selection",
    ),
    def(
        C::Users,
        "apply",
        "apply the selection: asks first; bulk: type the domain",
    ),
    def(
        C::Users,
        "retry",
        "retry every failed change / undo the selection's applied",
    ),
    and(C::Users, "undo"),
    def(
        C::Users,
        "release_domain",
        "then the domain itself: default domain, removal (asks)",
    ),
    def(
        C::Connections,
        "select",
        "select the row / a range from the last one / all shown",
    ),
    and(C::Connections, "select_range"),
    and(C::Connections, "select_all"),
    def(
        C::Connections,
        "preview",
        "preview the selection's changes and their undo",
    ),
    def(
        C::Connections,
        "apply",
        "apply the selection: asks first; bulk: type the domain",
    ),
    def(
        C::Connections,
        "retry",
        "retry every failed change / undo the selection's applied",
    ),
    and(C::Connections, "undo"),
    def(
        C::Connections,
        "tenant",
        "other tenant's list / its mail apps reviewed (journaled)",
    ),
    and(C::Connections, "mark_reviewed"),
    def(
        C::Normal,
        "read_only",
        "read-only on / off: while on, nothing is sent",
    ),
    def(C::Confirm, "accept", "send the changes / cancel"),
    and(C::Confirm, "cancel"),
    def(C::Preview, "close", "close the preview / scroll it"),
    and(C::Preview, "up"),
    and(C::Preview, "down"),
    def(C::Help, "close", "close this help / scroll it"),
    and(C::Help, "up"),
    and(C::Help, "down"),
    def(C::SignIn, "cancel", "cancel that device-code sign-in"),
    def(
        C::Help,
        "quit",
        "quit from the help, the details or a dialog",
    ),
    and(C::AuditDetails, "quit"),
    and(C::SignIn, "quit"),
    and(C::Preview, "quit"),
];

/// The action a bound name stands for.
fn action_of(context: Context, name: &str) -> Option<Action> {
    let action = match (context, name) {
        (_, "quit") => Action::Quit,
        (C::Normal, "help") | (C::Help, "close") => Action::ToggleHelp,
        (C::Normal, "focus_next") => Action::FocusNext,
        (C::Normal, "focus_prev") => Action::FocusPrev,
        (C::Normal, "focus_domain") => Action::Focus(Pane::Domain),
        (C::Normal, "focus_dns") => Action::Focus(Pane::Dns),
        (C::Normal, "focus_users") => Action::Focus(Pane::Users),
        (C::Normal, "focus_timeline") => Action::Focus(Pane::Timeline),
        (C::Normal, "focus_audit") => Action::Focus(Pane::Audit),
        (C::Normal, "focus_connections") => Action::Focus(Pane::Connections),
        (C::Normal | C::AuditDetails | C::Help | C::Preview, "up") => Action::Up,
        (C::Normal | C::AuditDetails | C::Help | C::Preview, "down") => Action::Down,
        (C::Normal, "page_up") => Action::PageUp,
        (C::Normal, "page_down") => Action::PageDown,
        (C::Normal, "top") => Action::Top,
        (C::Normal, "bottom") => Action::Bottom,
        (C::Normal, "filter") => Action::StartFilter,
        (C::Normal, "clear_filter") | (C::Filter, "cancel") => Action::FilterCancel,
        (C::Filter, "apply") => Action::FilterApply,
        (C::Filter, "backspace") => Action::FilterBackspace,
        (C::CutoverTime, "apply") => Action::CutoverApply,
        (C::CutoverTime, "cancel") => Action::CutoverCancel,
        (C::CutoverTime, "backspace") => Action::CutoverBackspace,
        (C::Timeline, "details") | (C::StepDetails, "close") => Action::ToggleStepDetail,
        (C::Timeline, "next") => Action::NextStep,
        (C::Timeline, "done") => Action::MarkDone,
        (C::Timeline, "skip") => Action::StartMarkReason(crate::plan::StepStatus::Skipped),
        (C::Timeline, "fail") => Action::StartMarkReason(crate::plan::StepStatus::Failed),
        (C::Timeline, "clear") => Action::ClearMark,
        (C::StepDetails, "note") => Action::StartNote,
        (C::StepDetails, "action") => Action::StepAction,
        (C::StepText, "apply") => Action::StepInputApply,
        (C::StepText, "cancel") => Action::StepInputCancel,
        (C::StepText, "backspace") => Action::StepBackspace,
        (C::Timeline, "set_time") => Action::StartCutoverInput,
        (C::Dns, "view") => Action::DnsCycleView,
        (C::Audit, "details") | (C::AuditDetails, "close") => Action::ToggleAuditDetail,
        (C::SignIn, "cancel") => Action::CancelSignIn,
        (C::Users | C::Connections, "select") => Action::ToggleSelect,
        (C::Users | C::Connections, "select_range") => Action::SelectRange,
        (C::Users | C::Connections, "select_all") => Action::SelectAll,
        (C::Users | C::Connections, "preview") => Action::Preview,
        (C::Users | C::Connections, "apply") => Action::StartRun(RunKind::Apply),
        (C::Users | C::Connections, "retry") => Action::StartRun(RunKind::Retry),
        (C::Users | C::Connections, "undo") => Action::StartRun(RunKind::Undo),
        (C::Connections, "tenant") => Action::ConnectionsTenant,
        (C::Connections, "mark_reviewed") => Action::MarkAppsReviewed,
        (C::Users, "release_domain") => Action::StartDomainRun,
        (C::Normal, "read_only") => Action::ToggleReadOnly,
        (C::Preview, "close") | (C::Confirm, "cancel") => Action::DialogClose,
        (C::Confirm, "accept") => Action::ConfirmAccept,
        (C::Confirm, "backspace") => Action::ConfirmBackspace,
        _ => return None,
    };
    Some(action)
}

/// A key as bound: the key and whether Ctrl / Alt are held. Shift is part of the character
/// (`G`) or of the key (`Shift-Tab` is crossterm's BackTab), never a flag of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Key {
    fn of_event(event: &KeyEvent) -> Key {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let code = match event.code {
            // Ctrl-C arrives as 'c' or 'C' depending on the terminal.
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            other => other,
        };
        Key {
            code,
            ctrl,
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse a key name as `keys.toml` writes it.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        // A lone "-" is the minus key, not a modifier separator.
        while let Some((modifier, tail)) = rest.split_once('-').filter(|(_, t)| !t.is_empty()) {
            match modifier.to_ascii_lowercase().as_str() {
                "ctrl" => ctrl = true,
                "alt" => alt = true,
                "shift" => shift = true,
                _ => break,
            }
            rest = tail;
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "tab" if shift => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "backspace" => KeyCode::Backspace,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "insert" => KeyCode::Insert,
            "delete" | "del" => KeyCode::Delete,
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => match lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                        Some(n @ 1..=12) => KeyCode::F(n),
                        _ => {
                            return Err(format!(
                                "unknown key name '{text}' (a character, Space, Tab, Shift-Tab, Enter, Esc, Backspace, Up, Down, Left, Right, PgUp, PgDn, Home, End, Insert, Delete, F1..F12, with Ctrl- or Alt- before)"
                            ));
                        }
                    },
                }
            }
        };
        if shift && code != KeyCode::BackTab {
            return Err(format!(
                "'{text}': Shift- goes only with Tab; write the character itself (G, not Shift-g)"
            ));
        }
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Up => f.write_str("Up"),
            KeyCode::Down => f.write_str("Down"),
            KeyCode::Left => f.write_str("Left"),
            KeyCode::Right => f.write_str("Right"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Something wrong in a keys file, at a line of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}: {}", self.file, self.line, self.message)
    }
}

/// Why the keys could not be loaded: every problem found, the first shown in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysError(pub Vec<KeyProblem>);

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_first() {
            None => f.write_str("the keys could not be loaded"),
            Some((first, [])) => write!(f, "{first}; fix or remove that line"),
            Some((first, rest)) => write!(
                f,
                "{first} (and {} more); fix or remove those lines",
                rest.len()
            ),
        }
    }
}

impl std::error::Error for KeysError {}

/// Where each binding came from, for naming the line of a conflict.
#[derive(Debug, Clone)]
struct Origin {
    /// Which of the files read (0: the defaults); a conflict is reported at the later one.
    index: usize,
    file: String,
    line: usize,
}

/// The bindings in effect: for each context, which keys each action has.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// (context, action name) → keys, with the line that gave them.
    actions: HashMap<(Context, &'static str), (Vec<Key>, Origin)>,
    /// (context, key) → action name; built once all files are read.
    lookup: HashMap<(Context, Key), &'static str>,
}

fn def_name(context: Context, name: &str) -> Option<&'static str> {
    DEFS.iter()
        .find(|d| d.context == context && d.name == name && !name.is_empty())
        .map(|d| d.name)
}

impl Keymap {
    /// The compiled-in defaults.
    pub fn defaults() -> Keymap {
        // The defaults are checked by the tests; should they ever fail, an empty map with the
        // defaults' problems is still no reason to panic at start: `load` reports them.
        Keymap::load_texts(&[("assets/keys.toml", DEFAULT_KEYS)]).unwrap_or_else(|_| Keymap {
            actions: HashMap::new(),
            lookup: HashMap::new(),
        })
    }

    /// The defaults with the user's `keys.toml` at `path` over them, if that file exists.
    pub fn load(path: &Path) -> Result<Keymap, KeysError> {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Keymap::load_texts(&[("assets/keys.toml", DEFAULT_KEYS), (&file, &text)]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Keymap::load_texts(&[("assets/keys.toml", DEFAULT_KEYS)])
            }
            Err(e) => Err(KeysError(vec![KeyProblem {
                file,
                line: 0,
                message: format!("cannot read it: {}", crate::store::describe_io(&e)),
            }])),
        }
    }

    /// Read each (file name, text) in turn, later ones replacing the actions they name; then
    /// check that no key means two things in one context.
    pub fn load_texts(files: &[(&str, &str)]) -> Result<Keymap, KeysError> {
        let mut actions = HashMap::new();
        let mut problems = Vec::new();
        for (index, (file, text)) in files.iter().enumerate() {
            // In line order: the first problem is the one a person meets first in the file.
            let mut found = Vec::new();
            read_file(index, file, text, &mut actions, &mut found);
            found.sort_by_key(|p| p.line);
            problems.append(&mut found);
        }
        let mut lookup: HashMap<(Context, Key), &'static str> = HashMap::new();
        // Sorted so the problem reported for a conflict is the same on every run.
        let mut entries: Vec<_> = actions.iter().collect();
        entries.sort_by_key(|((c, n), (_, o))| (*c, o.index, o.line, *n));
        for ((context, name), (keys, origin)) in entries {
            for key in keys {
                if let Some(other) = lookup.insert((*context, *key), name)
                    && other != *name
                {
                    problems.push(KeyProblem {
                        file: origin.file.clone(),
                        line: origin.line,
                        message: format!(
                            "{key} is bound to both {other} and {name} in [{}]",
                            context.name()
                        ),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(Keymap { actions, lookup })
        } else {
            Err(KeysError(problems))
        }
    }

    /// The action bound to `key` in `context`.
    fn get(&self, context: Context, key: &Key) -> Option<Action> {
        let name = self.lookup.get(&(context, *key))?;
        action_of(context, name)
    }

    /// The keys of one action, as the help shows them (`Up, k`).
    pub fn keys_of(&self, context: Context, name: &str) -> String {
        let keys = DEFS
            .iter()
            .find(|d| d.context == context && d.name == name)
            .and_then(|d| self.actions.get(&(context, d.name)))
            .map(|(keys, _)| keys.as_slice())
            .unwrap_or_default();
        keys.iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The help table: (keys, what they do), one row per line of help. The overlay and the
    /// README's key table are both this.
    pub fn help_rows(&self) -> Vec<(String, String)> {
        // Each row: its keys per action (context, keys) and its text.
        let mut rows: Vec<(Vec<(Context, String)>, &str)> = Vec::new();
        for d in DEFS {
            let mut keys = self.keys_of(d.context, d.name);
            if keys.is_empty() && !d.name.is_empty() {
                keys = "(none)".to_string();
            }
            match rows.last_mut() {
                Some((prev, _)) if d.with_prev => prev.push((d.context, keys)),
                _ if d.name.is_empty() => rows.push((Vec::new(), d.help)),
                _ => rows.push((vec![(d.context, keys)], d.help)),
            }
        }
        rows.into_iter()
            .map(|(keys, help)| {
                // The same keys in several contexts are one part: `q (help, details)`.
                let mut parts: Vec<(String, Vec<Context>)> = Vec::new();
                for (context, k) in keys {
                    match parts.last_mut() {
                        Some((pk, contexts))
                            if *pk == k
                                && !contexts.contains(&context)
                                && ![context, contexts[0]].contains(&Context::Normal) =>
                        {
                            contexts.push(context)
                        }
                        _ => parts.push((k, vec![context])),
                    }
                }
                // `Enter / Esc (filter)`: contexts are named once, after their last keys.
                let mut text = String::new();
                for (i, (k, contexts)) in parts.iter().enumerate() {
                    if i > 0 {
                        text.push_str(" / ");
                    }
                    text.push_str(k);
                    if parts.get(i + 1).is_none_or(|(_, next)| next != contexts) {
                        text.push_str(&suffix_of(contexts));
                    }
                }
                (text, help.to_string())
            })
            .collect()
    }

    /// The help table as Markdown, as README shows it.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| key | what it does |\n| --- | --- |\n");
        for (keys, what) in self.help_rows() {
            if keys.is_empty() {
                out.push_str(&format!("|  | {what} |\n"));
            } else {
                out.push_str(&format!("| `{keys}` | {what} |\n"));
            }
        }
        out
    }

    /// Map one key event to an action, or `None` when the key means nothing here.
    pub fn map(&self, state: &State, event: KeyEvent) -> Option<Action> {
        // Terminals that report releases and repeats (Windows) would otherwise act twice.
        if event.kind != KeyEventKind::Press {
            return None;
        }
        let key = Key::of_event(&event);
        if let Some(action) = self.get(Context::Global, &key) {
            return Some(action);
        }
        let typed = match event.code {
            KeyCode::Char(c) if !key.ctrl && !key.alt => Some(c),
            _ => None,
        };
        match state.input {
            InputMode::Filter(_) => {
                return self
                    .get(Context::Filter, &key)
                    .or(typed.map(Action::FilterInput));
            }
            InputMode::CutoverTime(_) => {
                return self
                    .get(Context::CutoverTime, &key)
                    .or(typed.map(Action::CutoverInput));
            }
            InputMode::StepReason { .. } | InputMode::StepNote { .. } => {
                return self
                    .get(Context::StepText, &key)
                    .or(typed.map(Action::StepInput));
            }
            InputMode::Normal => {}
        }
        // The dialogs and overlays are modal: only their own keys work.
        if !state.sign_in.is_empty() {
            return self.get(Context::SignIn, &key);
        }
        if state.show_help {
            return self.get(Context::Help, &key);
        }
        match &state.workbench.dialog {
            Some(Dialog::Preview { .. }) => return self.get(Context::Preview, &key),
            Some(Dialog::Confirm(_)) => {
                return self
                    .get(Context::Confirm, &key)
                    .or(typed.map(Action::ConfirmInput));
            }
            None => {}
        }
        if state.audit_detail {
            return self.get(Context::AuditDetails, &key);
        }
        if state.step_detail {
            return self.get(Context::StepDetails, &key);
        }
        let pane = match state.focus {
            Pane::Timeline => Some(Context::Timeline),
            Pane::Dns => Some(Context::Dns),
            Pane::Audit => Some(Context::Audit),
            Pane::Users => Some(Context::Users),
            Pane::Connections => Some(Context::Connections),
            Pane::Domain => None,
        };
        if let Some(action) = pane.and_then(|c| self.get(c, &key)) {
            return Some(action);
        }
        match self.get(Context::Normal, &key)? {
            // The domain pane is not a list.
            Action::StartFilter if state.focus == Pane::Domain => None,
            action => Some(action),
        }
    }
}

/// One file's tables into `actions`, its problems into `problems`.
fn read_file(
    index: usize,
    file: &str,
    text: &str,
    actions: &mut HashMap<(Context, &'static str), (Vec<Key>, Origin)>,
    problems: &mut Vec<KeyProblem>,
) {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| starts.partition_point(|&s| s <= offset);
    let mut problem = |offset: usize, message: String| {
        problems.push(KeyProblem {
            file: file.to_string(),
            line: line_of(offset),
            message,
        })
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let message = e.message().lines().next().unwrap_or("").to_string();
            problem(
                e.span().map_or(0, |s| s.start),
                format!("not valid TOML: {message}"),
            );
            return;
        }
    };
    let sections: Vec<&str> = Context::ALL.iter().map(|c| c.name()).collect();
    for (section, table) in root.get_ref().iter() {
        let Some(context) = Context::ALL
            .into_iter()
            .find(|c| c.name() == section.get_ref().as_ref())
        else {
            problem(
                section.span().start,
                format!(
                    "unknown section '{}' (expected one of: {})",
                    section.get_ref(),
                    sections.join(", ")
                ),
            );
            continue;
        };
        let DeValue::Table(table) = table.get_ref() else {
            problem(
                table.span().start,
                format!("{} must be a table: [{}]", context.name(), context.name()),
            );
            continue;
        };
        for (name, value) in table.iter() {
            let at = name.span().start;
            let Some(name) = def_name(context, name.get_ref()) else {
                let known: Vec<&str> = DEFS
                    .iter()
                    .filter(|d| d.context == context && !d.name.is_empty())
                    .map(|d| d.name)
                    .collect();
                problem(
                    at,
                    format!(
                        "unknown action '{}' in [{}] (expected one of: {})",
                        name.get_ref(),
                        context.name(),
                        known.join(", ")
                    ),
                );
                continue;
            };
            let DeValue::Array(items) = value.get_ref() else {
                problem(
                    value.span().start,
                    format!("{name} must be a list of keys, e.g. {name} = [\"x\"]"),
                );
                continue;
            };
            let mut keys = Vec::new();
            for item in items.iter() {
                let parsed = match item.get_ref() {
                    DeValue::String(s) => Key::parse(s),
                    _ => Err(format!("{name}: each key is a string, e.g. \"x\"")),
                };
                let parsed = parsed.and_then(|k| {
                    if context == Context::Global && !(k.ctrl || k.alt) {
                        Err(format!(
                            "[global] takes only Ctrl- or Alt- chords ('{k}' would stop you typing it)"
                        ))
                    } else if context.types_text()
                        && !(k.ctrl || k.alt)
                        && matches!(k.code, KeyCode::Char(_))
                    {
                        Err(format!(
                            "[{}] cannot take the character '{k}': it is typed there",
                            context.name()
                        ))
                    } else {
                        Ok(k)
                    }
                });
                match parsed {
                    Ok(k) if !keys.contains(&k) => keys.push(k),
                    Ok(_) => {}
                    Err(message) => problem(item.span().start, message),
                }
            }
            let origin = Origin {
                index,
                file: file.to_string(),
                line: line_of(at),
            };
            actions.insert((context, name), (keys, origin));
        }
    }
}

/// The keymap of this process: set once at start ([`install`]) from the defaults and the
/// user's file; the key mapper and the help overlay read it. It is not in [`State`] because it
/// never changes while the dashboard runs.
static ACTIVE: OnceLock<Keymap> = OnceLock::new();

/// Use `keymap` for the rest of the process (the first call wins).
pub fn install(keymap: Keymap) {
    let _ = ACTIVE.set(keymap);
}

/// The keymap in effect: the installed one, else the defaults.
pub fn active() -> &'static Keymap {
    static DEFAULTS: OnceLock<Keymap> = OnceLock::new();
    ACTIVE
        .get()
        .unwrap_or_else(|| DEFAULTS.get_or_init(Keymap::defaults))
}

/// The user's keys file: `keys.toml` beside the configuration file.
pub fn user_file(config_file: &Path) -> PathBuf {
    config_file.with_file_name("keys.toml")
}

/// Map one key event with the keymap in effect.
pub fn map_key(state: &State, key: KeyEvent) -> Option<Action> {
    active().map(state, key)
}

/// Map one mouse event: a click focuses the pane under it, or, on the focused pane, selects
/// the row under it; the wheel focuses the pane under it and moves its selection. Nothing
/// while a dialog, an overlay or a prompt is open (they are modal, as for keys).
pub fn map_mouse(state: &State, event: MouseEvent) -> Vec<Action> {
    let modal = state.input != InputMode::Normal
        || state.show_help
        || state.audit_detail
        || state.step_detail
        || !state.sign_in.is_empty();
    if modal {
        return Vec::new();
    }
    let areas = crate::ui::pane_areas(state);
    let (x, y) = (event.column, event.row);
    let Some(pane) = Pane::ALL.into_iter().find(|p| {
        let r = areas.panes[p.index()];
        x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height
    }) else {
        return Vec::new();
    };
    let mut actions = Vec::new();
    if pane != state.focus {
        actions.push(Action::Focus(pane));
    }
    match event.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            // The layout changes with the focus, so a click on another pane only focuses it.
            if pane == state.focus && pane != Pane::Domain {
                let area = areas.panes[pane.index()];
                // Border, then the lines above the rows (counts, column header).
                let first = usize::from(area.y) + 1 + crate::ui::layout::list_top(state, pane);
                let last = usize::from(area.y + area.height).saturating_sub(1);
                let y = usize::from(y);
                if y >= first && y < last {
                    actions.push(Action::SelectVisible(y - first));
                }
            }
        }
        MouseEventKind::ScrollUp => actions.push(Action::Up),
        MouseEventKind::ScrollDown => actions.push(Action::Down),
        _ => actions.clear(),
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;
    use time::macros::datetime;

    fn state() -> State {
        State::bare(datetime!(2025-03-01 12:00 UTC))
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn normal_mode() {
        let s = state();
        let cases = [
            (KeyCode::Char('q'), Some(Action::Quit)),
            (KeyCode::Char('?'), Some(Action::ToggleHelp)),
            (KeyCode::Tab, Some(Action::FocusNext)),
            (KeyCode::BackTab, Some(Action::FocusPrev)),
            (KeyCode::Char('1'), Some(Action::Focus(Pane::Domain))),
            (KeyCode::Char('5'), Some(Action::Focus(Pane::Audit))),
            (KeyCode::Char('6'), Some(Action::Focus(Pane::Connections))),
            (KeyCode::Char('7'), None),
            (KeyCode::Up, Some(Action::Up)),
            (KeyCode::Char('k'), Some(Action::Up)),
            (KeyCode::Down, Some(Action::Down)),
            (KeyCode::Char('j'), Some(Action::Down)),
            (KeyCode::PageUp, Some(Action::PageUp)),
            (KeyCode::PageDown, Some(Action::PageDown)),
            (KeyCode::Home, Some(Action::Top)),
            (KeyCode::Char('g'), Some(Action::Top)),
            (KeyCode::End, Some(Action::Bottom)),
            (KeyCode::Char('G'), Some(Action::Bottom)),
            (KeyCode::Esc, Some(Action::FilterCancel)),
            // No filter and no step cycling on the domain pane.
            (KeyCode::Char('/'), None),
            (KeyCode::Char(' '), None),
            (KeyCode::Enter, None),
            (KeyCode::Char('x'), None),
        ];
        for (code, expected) in cases {
            assert_eq!(map_key(&s, press(code)), expected, "{code:?}");
        }
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map_key(&s, shift_g), Some(Action::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map_key(&s, ctrl_c), Some(Action::Quit));
        let ctrl_j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL);
        assert_eq!(map_key(&s, ctrl_j), None);
    }

    #[test]
    fn timeline_keys() {
        let mut s = state();
        s.focus = Pane::Timeline;
        assert_eq!(
            map_key(&s, press(KeyCode::Char('d'))),
            Some(Action::MarkDone)
        );
        assert_eq!(
            map_key(&s, press(KeyCode::Char('s'))),
            Some(Action::StartMarkReason(crate::plan::StepStatus::Skipped))
        );
        assert_eq!(
            map_key(&s, press(KeyCode::Char('n'))),
            Some(Action::NextStep)
        );
        assert_eq!(
            map_key(&s, press(KeyCode::Enter)),
            Some(Action::ToggleStepDetail)
        );
        // The details are modal; a reason is typed, `d` included.
        s.step_detail = true;
        assert_eq!(
            map_key(&s, press(KeyCode::Char('e'))),
            Some(Action::StartNote)
        );
        assert_eq!(map_key(&s, press(KeyCode::Char('d'))), None);
        s.input = InputMode::StepReason {
            step: "x".into(),
            status: crate::plan::StepStatus::Failed,
            text: String::new(),
        };
        assert_eq!(
            map_key(&s, press(KeyCode::Char('d'))),
            Some(Action::StepInput('d'))
        );
        assert_eq!(
            map_key(&s, press(KeyCode::Enter)),
            Some(Action::StepInputApply)
        );
        s.input = InputMode::Normal;
        s.step_detail = false;
        assert_eq!(
            map_key(&s, press(KeyCode::Char('/'))),
            Some(Action::StartFilter)
        );
    }

    #[test]
    fn filter_mode() {
        let mut s = state();
        s.input = InputMode::Filter(Pane::Users);
        let cases = [
            (KeyCode::Char('q'), Some(Action::FilterInput('q'))),
            (KeyCode::Char('?'), Some(Action::FilterInput('?'))),
            (KeyCode::Char(' '), Some(Action::FilterInput(' '))),
            (KeyCode::Char('ä'), Some(Action::FilterInput('ä'))),
            (KeyCode::Backspace, Some(Action::FilterBackspace)),
            (KeyCode::Enter, Some(Action::FilterApply)),
            (KeyCode::Esc, Some(Action::FilterCancel)),
            (KeyCode::Tab, None),
        ];
        for (code, expected) in cases {
            assert_eq!(map_key(&s, press(code)), expected, "{code:?}");
        }
        let upper = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(map_key(&s, upper), Some(Action::FilterInput('S')));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map_key(&s, ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn help_is_modal() {
        let mut s = state();
        s.show_help = true;
        assert_eq!(map_key(&s, press(KeyCode::Esc)), Some(Action::ToggleHelp));
        assert_eq!(
            map_key(&s, press(KeyCode::Char('?'))),
            Some(Action::ToggleHelp)
        );
        assert_eq!(map_key(&s, press(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(map_key(&s, press(KeyCode::Tab)), None);
        // Down scrolls the help, not the pane behind it (the reducer sees `show_help`).
        assert_eq!(map_key(&s, press(KeyCode::Down)), Some(Action::Down));
        assert_eq!(map_key(&s, press(KeyCode::Char('a'))), None);
    }

    #[test]
    fn audit_detail_opens_with_enter_and_is_modal() {
        let mut s = state();
        assert_eq!(map_key(&s, press(KeyCode::Enter)), None);
        s.focus = Pane::Audit;
        assert_eq!(
            map_key(&s, press(KeyCode::Enter)),
            Some(Action::ToggleAuditDetail)
        );
        s.audit_detail = true;
        for (code, want) in [
            (KeyCode::Esc, Some(Action::ToggleAuditDetail)),
            (KeyCode::Enter, Some(Action::ToggleAuditDetail)),
            (KeyCode::Down, Some(Action::Down)),
            (KeyCode::Char('k'), Some(Action::Up)),
            (KeyCode::Char('q'), Some(Action::Quit)),
            (KeyCode::Tab, None),
            (KeyCode::Char('/'), None),
        ] {
            assert_eq!(map_key(&s, press(code)), want, "{code:?}");
        }
    }

    #[test]
    fn only_presses() {
        let s = state();
        let release = KeyEvent {
            code: KeyCode::Char('q'),
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        };
        assert_eq!(map_key(&s, release), None);
        let repeat = KeyEvent {
            kind: KeyEventKind::Repeat,
            ..release
        };
        assert_eq!(map_key(&s, repeat), None);
    }

    fn load(user: &str) -> Result<Keymap, KeysError> {
        Keymap::load_texts(&[("assets/keys.toml", DEFAULT_KEYS), ("my/keys.toml", user)])
    }

    #[test]
    fn defaults_parse_and_cover_every_action() {
        let map = Keymap::load_texts(&[("assets/keys.toml", DEFAULT_KEYS)]).unwrap();
        for d in DEFS.iter().filter(|d| !d.name.is_empty()) {
            assert!(
                action_of(d.context, d.name).is_some(),
                "{}.{} has no action",
                d.context.name(),
                d.name
            );
            assert!(
                !map.keys_of(d.context, d.name).is_empty(),
                "{}.{} has no default key",
                d.context.name(),
                d.name
            );
        }
        // And the help shows every key of the defaults.
        let rows = map.help_rows();
        assert!(
            rows.iter()
                .any(|(k, t)| k == "q / Ctrl-C (anywhere)" && t == "quit")
        );
        assert!(rows.iter().any(|(k, _)| k == "Up, k / Down, j"));
        assert!(
            rows.iter().any(|(k, _)| k == "d / s / f / c (timeline)"),
            "{rows:?}"
        );
        // It fits a 120x40 terminal (with its border); at 80x24 the overlay scrolls (the
        // render tests show its last row).
        assert!(rows.len() + 2 <= 40, "{} help rows", rows.len());
    }

    #[test]
    fn an_override_replaces_only_the_actions_it_names() {
        let map = load("[normal]\ndown = [\"Down\", \"n\"]\n").unwrap();
        let s = state();
        assert_eq!(map.map(&s, press(KeyCode::Char('n'))), Some(Action::Down));
        // The action's old key is gone; the others stay.
        assert_eq!(map.map(&s, press(KeyCode::Char('j'))), None);
        assert_eq!(map.map(&s, press(KeyCode::Char('k'))), Some(Action::Up));
        assert_eq!(map.keys_of(Context::Normal, "down"), "Down, n");
        assert!(
            map.markdown()
                .contains("| `Up, k / Down, n` | move the selection |")
        );
    }

    #[test]
    fn a_conflict_is_reported_at_its_line() {
        let err = load("# mine\n[normal]\n\nhelp = [\"h\"]\nup = [\"Up\", \"j\"]\n").unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].file, "my/keys.toml");
        assert_eq!(err.0[0].line, 5);
        assert!(err.0[0].message.contains("j is bound to both"), "{err}");
        assert!(
            err.to_string().starts_with("my/keys.toml: line 5: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_names_are_reported_at_their_line() {
        let err = load("[normal]\njump = [\"x\"]\n[timeline]\nset_time = [\"Hyper-t\"]\n[panes]\n")
            .unwrap_err();
        let lines: Vec<(usize, &str)> =
            err.0.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].0 == 2 && lines[0].1.contains("unknown action 'jump'"));
        assert!(lines[1].0 == 4 && lines[1].1.contains("unknown key name 'Hyper-t'"));
        assert!(lines[2].0 == 5 && lines[2].1.contains("unknown section 'panes'"));
        let err = load("[global]\nquit = [\"x\"]\n[filter]\napply = [\"a\"]\n").unwrap_err();
        assert_eq!(err.0.len(), 2, "{err:?}");
        assert!(err.0.iter().all(|p| p.message.contains("typ")), "{err:?}");
        let err = load("[normal\n").unwrap_err();
        assert!(err.0[0].message.starts_with("not valid TOML"), "{err:?}");
    }

    #[test]
    fn key_names_round_trip() {
        for name in [
            "q",
            "G",
            "?",
            "/",
            "Space",
            "Tab",
            "Shift-Tab",
            "Ctrl-C",
            "Alt-x",
            "PgUp",
            "F5",
            "Enter",
            "-",
        ] {
            assert_eq!(Key::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(Key::parse("ctrl-c"), Key::parse("Ctrl-C"));
        assert!(Key::parse("Shift-g").is_err());
        assert!(Key::parse("F13").is_err());
        assert!(Key::parse("").is_err());
    }
}
