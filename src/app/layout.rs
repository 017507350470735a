//! Where each pane goes. Computed by hand (not by the constraint solver) so that the sizes are
//! predictable at 80x24 and the reducer can ask how tall the focused list is.

use ratatui::layout::Rect;

use crate::app::state::{Pane, State};

/// The screen split into the six panes (indexed by [`Pane::index`]) and the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub panes: [Rect; 6],
    pub status: Rect,
}

/// Every pane keeps at least its border and one line when the screen allows it.
const MIN_ROW: u16 = 3;
/// Relative heights of the three rows when nothing is focused there: domain/DNS, users/timeline,
/// audit/connections. The focused row's weight is tripled.
const ROW_WEIGHTS: [u32; 3] = [3, 4, 2];
/// Wide enough for the domain table's two tenant columns; more is wasted on it.
const DOMAIN_MAX_WIDTH: u16 = 44;

pub fn areas(area: Rect, focus: Pane) -> Areas {
    let status_h = area.height.min(1);
    let body = Rect {
        height: area.height - status_h,
        ..area
    };
    let status = Rect {
        y: area.y + body.height,
        height: status_h,
        ..area
    };

    let focus_row = match focus {
        Pane::Domain | Pane::Dns => 0,
        Pane::Users | Pane::Timeline => 1,
        Pane::Audit | Pane::Connections => 2,
    };
    let heights = row_heights(body.height, focus_row);
    let mut y = body.y;
    let mut rows = [Rect::default(); 3];
    for (row, h) in rows.iter_mut().zip(heights) {
        *row = Rect {
            y,
            height: h,
            ..body
        };
        y += h;
    }

    // The domain table needs little width and the DNS values much; the addresses in the users
    // pane are wider than the timeline's steps. The focused pane of a row gets 10 points more.
    let domain_pct = match focus {
        Pane::Domain => 55,
        Pane::Dns => 30,
        _ => 45,
    };
    let (domain, dns) = split_columns(rows[0], domain_pct, Some(DOMAIN_MAX_WIDTH));
    let users_pct = match focus {
        Pane::Users => 65,
        Pane::Timeline => 40,
        _ => 55,
    };
    let (users, timeline) = split_columns(rows[1], users_pct, None);
    // The audit lines and the connections' details are both long: the focused one gets most;
    // unfocused, the audit keeps most of the row (its lines are read at a glance) and
    // Connections shows its counts.
    let audit_pct = match focus {
        Pane::Audit => 75,
        Pane::Connections => 25,
        _ => 70,
    };
    let (audit, connections) = split_columns(rows[2], audit_pct, None);
    Areas {
        panes: [domain, dns, users, timeline, audit, connections],
        status,
    }
}

/// Heights of the three rows: each gets [`MIN_ROW`], the rest is shared by weight (largest
/// remainder first, so the total is exact).
fn row_heights(total: u16, focus_row: usize) -> [u16; 3] {
    let mut heights = [0u16; 3];
    if total < MIN_ROW * 3 {
        // Too small for borders everywhere: share evenly, extra lines to the focused row.
        let base = total / 3;
        heights = [base; 3];
        let mut rest = total - base * 3;
        let mut i = focus_row;
        while rest > 0 {
            heights[i] += 1;
            rest -= 1;
            i = (i + 1) % 3;
        }
        return heights;
    }
    let extra = u32::from(total - MIN_ROW * 3);
    let mut weights = ROW_WEIGHTS;
    weights[focus_row] *= 3;
    let sum: u32 = weights.iter().sum();
    let mut given = 0u32;
    let mut fractions = [(0u32, 0usize); 3];
    for i in 0..3 {
        let share = extra * weights[i];
        let whole = share / sum;
        given += whole;
        heights[i] = MIN_ROW + whole as u16;
        fractions[i] = (share % sum, i);
    }
    fractions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in fractions.iter().take((extra - given) as usize) {
        heights[*i] += 1;
    }
    heights
}

/// Left and right part of a row: `left_pct` of the width for the left, at most `left_max`.
fn split_columns(row: Rect, left_pct: u16, left_max: Option<u16>) -> (Rect, Rect) {
    let lw = (u32::from(row.width) * u32::from(left_pct) / 100) as u16;
    let lw = left_max.map_or(lw, |m| lw.min(m));
    (
        Rect { width: lw, ..row },
        Rect {
            x: row.x + lw,
            width: row.width - lw,
            ..row
        },
    )
}

/// Lines inside a pane's border.
pub fn inner_height(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(2))
}

/// How many rows PageUp/PageDown move in the focused pane: its visible list height, at least 1.
pub fn page_size(state: &State) -> usize {
    let (w, h) = state.size;
    let area = areas(Rect::new(0, 0, w, h), state.focus).panes[state.focus.index()];
    inner_height(area)
        .saturating_sub(list_top(state, state.focus))
        .max(1)
}

/// Lines inside a list pane's border above its first row (count line, column header); a
/// mouse click finds its row with it.
pub fn list_top(state: &State, pane: Pane) -> usize {
    match pane {
        // Count line, inventory line, column header.
        Pane::Users => 3,
        Pane::Dns | Pane::Timeline => 1,
        Pane::Audit => 1 + usize::from(state.audit_error.is_some()),
        // Tenant and counts, run progress or reading, column header.
        Pane::Connections => 3,
        Pane::Domain => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fill_the_body_exactly() {
        for h in 0..60 {
            for f in 0..3 {
                let hs = row_heights(h, f);
                assert_eq!(hs.iter().sum::<u16>(), h, "h={h} f={f}");
            }
        }
    }

    #[test]
    fn every_pane_has_three_rows_at_80x24() {
        for focus in Pane::ALL {
            let a = areas(Rect::new(0, 0, 80, 24), focus);
            for p in a.panes {
                assert!(p.height >= 3 && p.width >= 20, "{focus:?}: {p:?}");
            }
            assert_eq!(a.status, Rect::new(0, 23, 80, 1));
        }
    }

    #[test]
    fn focused_row_is_tallest() {
        let a = areas(Rect::new(0, 0, 80, 24), Pane::Audit);
        assert!(a.panes[4].height > a.panes[0].height);
        let a = areas(Rect::new(0, 0, 80, 24), Pane::Domain);
        assert!(a.panes[0].height > a.panes[2].height);
    }
}
