//! Pane 1: where the domain stands in the source and the destination tenant.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use crate::app::state::{Health, Pane, State, TenantId, TenantState};
use crate::graph::model::DirectoryObjectRef;

use super::{theme, widgets};

const LABELS: [&str; 7] = [
    "present",
    "verified",
    "default/init",
    "auth",
    "services",
    "references",
    "organization",
];

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let source = column(state.tenant(TenantId::Source));
    let destination = column(state.tenant(TenantId::Destination));
    let failing = [&state.source, &state.destination]
        .iter()
        .any(|t| matches!(t.health, Health::Failing(_)));

    let mut rows: Vec<Row> = LABELS
        .iter()
        .zip(source.into_iter().zip(destination))
        .map(|(label, (s, d))| {
            Row::new([
                Cell::from(*label).style(theme::dim()),
                Cell::from(s),
                Cell::from(d),
            ])
        })
        .collect();
    if failing {
        rows.push(Row::new([
            Cell::from("health").style(theme::dim()),
            Cell::from(health(&state.source)),
            Cell::from(health(&state.destination)),
        ]));
    }
    let header = Row::new([
        Cell::from(Span::styled(state.domain.clone(), theme::title(true))),
        Cell::from("source"),
        Cell::from("destination"),
    ])
    .style(theme::header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(widgets::pane_block(state, Pane::Domain));
    frame.render_widget(table, area);
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
        Span::raw(format!(
            "{} / {}",
            yes_no(d.is_default),
            yes_no(d.is_initial)
        )),
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
