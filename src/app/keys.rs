//! Key presses → actions. The mapping depends on the mode (help shown, typing a filter, normal);
//! [`KEY_HELP`] is the human-readable version of it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::state::{InputMode, Pane, State};

/// Every key and what it does; the help overlay shows it and the README copies it.
pub const KEY_HELP: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit"),
    ("?", "show / hide this help (Esc also closes it)"),
    ("Tab, Shift-Tab", "next / previous pane"),
    ("1 .. 5", "jump to pane 1 to 5"),
    ("Up/k, Down/j", "move the selection"),
    ("PgUp, PgDn", "move a page"),
    ("Home/g, End/G", "first / last row"),
    ("/", "filter the focused list (DNS, users, timeline, audit)"),
    (
        "/ on Audit",
        "words, kind:K[,K] tenant:T object:X since:T until:T",
    ),
    (
        "",
        "T: HH:MM (UTC, day of the newest line) or YYYY-MM-DD[THH:MM]",
    ),
    ("Enter, Esc (filter)", "keep / drop the filter being typed"),
    ("Backspace (filter)", "delete the last character"),
    ("Esc", "clear the focused pane's filter"),
    ("Space, Enter", "timeline: next status of the selected step"),
    (
        "t",
        "timeline: set the cutover time T (e.g. 2026-12-05T18:00Z)",
    ),
    ("Enter, Esc (T)", "set T / leave it as it was"),
    (
        "v",
        "DNS: records / expected vs actual / propagation / TTL plan",
    ),
    (
        "Enter (audit)",
        "details of the selected entry: before/after diff",
    ),
    (
        "Esc, Enter (details)",
        "close the details; Up/Down show the next entry",
    ),
    ("Esc (sign-in dialog)", "cancel that device-code sign-in"),
];

/// Map one key event to an action, or `None` when the key means nothing here.
pub fn map_key(state: &State, key: KeyEvent) -> Option<Action> {
    // Terminals that report releases and repeats (Windows) would otherwise act twice.
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Some(Action::Quit);
    }
    if let InputMode::Filter(_) = state.input {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterApply),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                Some(Action::FilterInput(c))
            }
            _ => None,
        };
    }
    if let InputMode::CutoverTime(_) = state.input {
        return match key.code {
            KeyCode::Enter => Some(Action::CutoverApply),
            KeyCode::Esc => Some(Action::CutoverCancel),
            KeyCode::Backspace => Some(Action::CutoverBackspace),
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                Some(Action::CutoverInput(c))
            }
            _ => None,
        };
    }
    // Other Ctrl/Alt chords are not ours (the terminal or multiplexer may use them).
    if ctrl || key.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    if !state.sign_in.is_empty() {
        // The sign-in dialog is modal: cancel it, or quit; other keys do nothing.
        return match key.code {
            KeyCode::Esc => Some(Action::CancelSignIn),
            KeyCode::Char('q') => Some(Action::Quit),
            _ => None,
        };
    }
    if state.show_help {
        // The overlay is modal: it closes, or the program quits; other keys do nothing.
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?') => Some(Action::ToggleHelp),
            KeyCode::Char('q') => Some(Action::Quit),
            _ => None,
        };
    }
    if state.audit_detail {
        // The detail view is modal too; Up/Down walk the (filtered) list under it.
        return match key.code {
            KeyCode::Esc | KeyCode::Enter => Some(Action::ToggleAuditDetail),
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            _ => None,
        };
    }
    let action = match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char(c @ '1'..='5') => {
            let i = usize::from(c as u8 - b'1');
            Action::Focus(Pane::ALL[i])
        }
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Char('/') if state.focus != Pane::Domain => Action::StartFilter,
        KeyCode::Char(' ') | KeyCode::Enter if state.focus == Pane::Timeline => {
            Action::CycleStepStatus
        }
        KeyCode::Char('v') if state.focus == Pane::Dns => Action::DnsCycleView,
        KeyCode::Char('t') if state.focus == Pane::Timeline => Action::StartCutoverInput,
        KeyCode::Enter if state.focus == Pane::Audit => Action::ToggleAuditDetail,
        KeyCode::Esc => Action::FilterCancel,
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Runbook;
    use crossterm::event::KeyEventState;
    use time::macros::datetime;

    fn state() -> State {
        State::new(
            "c".into(),
            "contoso.example".into(),
            Runbook { phases: vec![] },
            datetime!(2025-03-01 12:00 UTC),
        )
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
            (KeyCode::Char('6'), None),
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
            map_key(&s, press(KeyCode::Char(' '))),
            Some(Action::CycleStepStatus)
        );
        assert_eq!(
            map_key(&s, press(KeyCode::Enter)),
            Some(Action::CycleStepStatus)
        );
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
        assert_eq!(map_key(&s, press(KeyCode::Down)), None);
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

    #[test]
    fn help_lists_every_mode() {
        let keys: Vec<&str> = KEY_HELP.iter().map(|(k, _)| *k).collect();
        for k in [
            "q, Ctrl-C",
            "?",
            "Tab, Shift-Tab",
            "/",
            "Space, Enter",
            "Esc",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
    }
}
