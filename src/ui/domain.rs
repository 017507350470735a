//! Pane 1: where the domain stands in the source and the destination tenant.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::app::state::{Health, Pane, State, TenantId, TenantState};
use crate::graph::model::DirectoryObjectRef;

use super::theme;
use super::widgets::{self, truncate};

const LABELS: [&str; 7] = [
    "present", "verified", "default", "auth", "services", "refs", "org",
];
const LABEL_WIDTH: u16 = 8;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let mut source = column(state.tenant(TenantId::Source)).to_vec();
    let mut destination = column(state.tenant(TenantId::Destination)).to_vec();
    let mut labels = LABELS.to_vec();
    let failing = [&state.source, &state.destination]
        .iter()
        .any(|t| matches!(t.health, Health::Failing(_)));
    if failing {
        labels.push("health");
        source.push(health(&state.source));
        destination.push(health(&state.destination));
    }

    let inner_w = area.width.saturating_sub(2);
    let [src_w, dst_w] = widgets::share_width(
        inner_w.saturating_sub(LABEL_WIDTH + 2),
        widest(&source, "source"),
        widest(&destination, "destination"),
    );
    let fit =
        |s: Span<'static>, w: u16| Span::styled(truncate(&s.content, usize::from(w)), s.style);
    let rows: Vec<Row> = labels
        .iter()
        .zip(source.into_iter().zip(destination))
        .map(|(label, (s, d))| {
            Row::new([
                Cell::from(*label).style(theme::dim()),
                Cell::from(fit(s, src_w)),
                Cell::from(fit(d, dst_w)),
            ])
        })
        .collect();

    let header = Row::new(["", "source", "destination"]).style(theme::header());
    let mut block = widgets::pane_block(state, Pane::Domain);
    // The domain's name sits on the right of the border, when it fits beside the title.
    let name = format!(" {} ", state.domain);
    let title_w = format!(" 1 {} ", Pane::Domain.title()).chars().count();
    if usize::from(area.width) >= title_w + name.chars().count() + 4 {
        block = block.title_top(Line::styled(name, theme::header()).right_aligned());
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(LABEL_WIDTH),
            Constraint::Length(src_w),
            Constraint::Length(dst_w),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(block);
    frame.render_widget(table, area);
}

fn widest(cells: &[Span<'_>], header: &str) -> u16 {
    let w = cells.iter().map(Span::width).max().unwrap_or(0);
    w.max(header.len()).min(usize::from(u16::MAX)) as u16
}

/// The values of [`LABELS`] for one tenant.
fn column(tenant: &TenantState) -> [Span<'static>; 7] {
    let dash = || Span::styled("–", theme::dim());
    let Some(snapshot) = tenant.snapshot.as_ref() else {
        let mut out = std::array::from_fn(|_| dash());
        out[0] = Span::styled("not yet polled", theme::dim());
        return out;
    };
    let org = snapshot
        .organization
        .display_name
        .clone()
        .map(Span::raw)
        .unwrap_or_else(dash);
    let Some(d) = snapshot.domain.as_ref() else {
        let mut out = std::array::from_fn(|_| dash());
        out[0] = Span::raw("absent");
        out[6] = org;
        return out;
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    [
        Span::styled("yes", theme::ok()),
        Span::styled(
            yes_no(d.is_verified),
            if d.is_verified {
                theme::ok()
            } else {
                theme::warn()
            },
        ),
        // Only a tenant's onmicrosoft.com domain is initial; say so when it is.
        Span::raw(if d.is_initial {
            format!("{}, initial", yes_no(d.is_default))
        } else {
            yes_no(d.is_default).to_string()
        }),
        d.authentication_type
            .clone()
            .map(Span::raw)
            .unwrap_or_else(dash),
        if d.supported_services.is_empty() {
            Span::styled("none", theme::dim())
        } else {
            Span::raw(d.supported_services.join(", "))
        },
        references(&snapshot.references),
        org,
    ]
}

/// `3 (2 user, 1 group)`; yellow while anything still holds on to the domain.
fn references(refs: &[DirectoryObjectRef]) -> Span<'static> {
    if refs.is_empty() {
        return Span::styled("0", theme::ok());
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in refs {
        let kind = r
            .odata_type
            .as_deref()
            .map(|t| t.trim_start_matches("#microsoft.graph."))
            .unwrap_or("object");
        *kinds.entry(kind).or_default() += 1;
    }
    let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    Span::styled(
        format!("{} ({})", refs.len(), parts.join(", ")),
        theme::warn(),
    )
}

fn health(tenant: &TenantState) -> Span<'static> {
    let (text, style): (String, Style) = match &tenant.health {
        Health::Connecting => ("connecting".into(), theme::dim()),
        Health::Ok => ("ok".into(), theme::ok()),
        Health::Failing(e) => (format!("ERROR: {e}"), theme::error()),
    };
    Span::styled(text, style)
}
