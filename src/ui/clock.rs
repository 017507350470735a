//! What the screen shows that depends on the clock alone, at the granularity it is shown: the
//! reducer compares the face before and after a tick and asks for a redraw only when it
//! changed, so an idle dashboard does not redraw four times a second.

use ratatui::layout::Rect;

use crate::app::state::{DnsView, Pane, State};
use crate::dns::propagation::Cell as PropCell;
use crate::dns::ttl_plan::format_countdown;

use super::{dns, dns_compare, dns_views, layout, rows};

/// The time-dependent texts and styles of the visible panes (equal faces: the same screen).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Face(Vec<String>);

pub fn face(state: &State) -> Face {
    let (w, h) = state.size;
    let areas = layout::areas(Rect::new(0, 0, w, h), state.focus);
    let shown = |pane: Pane| {
        let r = areas.panes[pane.index()];
        r.width > 0 && r.height > 0
    };
    let mut out = Vec::new();
    if shown(Pane::Dns) {
        dns_face(state, &mut out);
    }
    if shown(Pane::Timeline) {
        // Countdowns, to the minute, and T's on the border.
        for row in rows::step_rows(state) {
            out.push(super::timeline::state_cell(state, &row).0);
        }
        if let Some(t) = state.cutover_at {
            // T's countdown and the "now" line (both only with T).
            out.push(crate::timeline::status::countdown(t, state.now));
            out.push(rows::local_hm(state.now));
        }
    }
    Face(out)
}

fn dns_face(state: &State, out: &mut Vec<String>) {
    let stale = |out: &mut Vec<String>| {
        let (_, propagation) = dns_views::record_context(state);
        for cell in propagation.iter().flat_map(|r| r.cells.iter()) {
            if let PropCell::Stale { expires_at } = cell {
                let left = (*expires_at - state.now).max(time::Duration::ZERO);
                out.push(format_countdown(left));
            }
        }
    };
    match state.dns.view {
        DnsView::Records => {
            // The change marker goes after a minute; stale copies count down in the status.
            for at in state.dns.changed_at.values() {
                out.push(dns::is_recent(state, *at).to_string());
            }
            stale(out);
        }
        DnsView::Propagation => stale(out),
        DnsView::Compare => {
            for row in dns_compare::compare_rows(state) {
                out.push(row.expires_in);
                out.push(row.status.0);
            }
        }
        DnsView::Plan => {
            for (label, value, style) in dns_views::plan_lines(state) {
                out.extend([label, value, format!("{style:?}")]);
            }
        }
    }
}
