//! Owning the terminal: raw mode, the alternate screen and mouse capture on entry, restored on
//! every way out (normal return, error, a panic of the loop itself).
//!
//! A panic on a background thread or task (a poller, the journal writer) must not touch the
//! screen while the loop lives: the supervisor reports it as an action and the dashboard goes
//! on, so our panic hook only writes it to the trace log. Only a panic of the loop — on the
//! thread that owns the terminal, outside any tokio task — restores the terminal and prints.

use std::io::{self, stdout};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};
use ratatui::DefaultTerminal;
use ratatui::backend::CrosstermBackend;

/// The thread running the loop while a [`TerminalGuard`] lives.
static OWNER: Mutex<Option<ThreadId>> = Mutex::new(None);

fn set_owner(owner: Option<ThreadId>) {
    // A poisoned lock still holds a usable value; the hook must work after any panic.
    *OWNER.lock().unwrap_or_else(|p| p.into_inner()) = owner;
}

fn owner() -> Option<ThreadId> {
    *OWNER.lock().unwrap_or_else(|p| p.into_inner())
}

/// Install (once per process) the hook that keeps background panics off the screen.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match owner() {
                Some(loop_thread)
                    if std::thread::current().id() != loop_thread
                        || tokio::task::try_id().is_some() =>
                {
                    // The supervisor puts it on screen; the details go to the trace log.
                    let thread = std::thread::current()
                        .name()
                        .unwrap_or("unnamed")
                        .to_string();
                    tracing::error!(thread, panic = %info, "background panic");
                }
                Some(_) => {
                    // The loop itself: give the terminal back before the message is printed.
                    let _ = execute!(stdout(), DisableMouseCapture);
                    ratatui::restore();
                    previous(info);
                }
                None => previous(info),
            }
        }));
    });
}

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        set_owner(Some(std::thread::current().id()));
        let terminal = enable_raw_mode()
            .and_then(|()| execute!(stdout(), EnterAlternateScreen, EnableMouseCapture))
            .and_then(|()| ratatui::Terminal::new(CrosstermBackend::new(stdout())));
        let terminal = match terminal {
            Ok(t) => t,
            Err(e) => {
                // Raw mode may already be on when the alternate screen failed.
                set_owner(None);
                let _ = execute!(stdout(), DisableMouseCapture);
                ratatui::restore();
                return Err(e);
            }
        };
        let mut guard = TerminalGuard { terminal };
        guard.terminal.hide_cursor()?;
        guard.terminal.clear()?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        // Mouse reporting off first, or the shell would receive the clicks as text.
        let _ = execute!(stdout(), DisableMouseCapture);
        ratatui::restore();
        set_owner(None);
    }
}
