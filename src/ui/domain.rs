//! Pane 1: where the domain stands in the source and the destination tenant, who holds it seen
//! from outside (first line), and how many objects still block its removal in the source.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::app::state::{Health, Pane, State, TenantId, TenantState};
use crate::plan::machine::Stage;

use super::theme;
use super::widgets::{self, truncate};

const LABELS: [&str; 6] = ["present", "verified", "default", "auth", "services", "org"];
const LABEL_WIDTH: u16 = 8;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let mut source = column(state.tenant(TenantId::Source)).to_vec();
    let mut destination = column(state.tenant(TenantId::Destination)).to_vec();
    let mut labels = LABELS.to_vec();
    let failing = [&state.source, &state.destination]
        .iter()
        .any(|t| matches!(t.health, Health::Failing(_)));
    // Before the organization's name: what still blocks removal matters more in a short pane.
    let at = labels
        .iter()
        .position(|l| *l == "org")
        .unwrap_or(labels.len());
    labels.insert(at, "holding");
    source.insert(at, holding(state));
    destination.insert(at, Span::styled("–", theme::dim()));
    if failing {
        labels.push("health");
        source.push(health(&state.source));
        destination.push(health(&state.destination));
    }

    // The domain's place in the cutover and what blocks the next step come right after the
    // owner line: they say what to do next.
    let place = &state.place.place;
    let partner = sign_in(state);
    let top = 2 + usize::from(place.blocker.is_some()) + usize::from(partner.is_some());
    // When the pane is short, the least telling rows give way first (the top lines and the
    // header take their lines).
    let room = usize::from(area.height.saturating_sub(2)).saturating_sub(top + 1);
    for drop in ["services", "default", "auth", "org", "verified"] {
        if labels.len() <= room {
            break;
        }
        if let Some(i) = labels.iter().position(|l| *l == drop) {
            labels.remove(i);
            source.remove(i);
            destination.remove(i);
        }
    }

    let inner_w = area.width.saturating_sub(2);
    let [src_w, dst_w] = widgets::share_width(
        inner_w.saturating_sub(LABEL_WIDTH + 2),
        widest(&source, "source"),
        widest(&destination, "destination"),
    );
    let fit =
        |s: Span<'static>, w: u16| Span::styled(truncate(&s.content, usize::from(w)), s.style);
    let table_rows = labels.len();
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
    // Both forms of an IDN when they fit, else the A-label alone (widths in terminal cells).
    let title_w = widgets::width(&format!(" 1 {} ", Pane::Domain.title()));
    let fits = |n: &String| usize::from(area.width) >= title_w + widgets::width(n) + 4;
    if let Some(name) = [&state.domain_shown, &state.domain]
        .into_iter()
        .map(|d| format!(" {d} "))
        .find(fits)
    {
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
    .column_spacing(1);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    // The outside view comes first: it is what tells the moment the domain changes hands.
    let owner_area = Rect { height: 1, ..inner };
    let mut spans = vec![Span::styled(
        format!("{:<w$} ", "owner", w = usize::from(LABEL_WIDTH)),
        theme::dim(),
    )];
    let room = usize::from(inner.width.saturating_sub(LABEL_WIDTH + 1));
    for s in owner(state) {
        let used: usize = spans.iter().skip(1).map(Span::width).sum();
        let left = room.saturating_sub(used);
        if left == 0 {
            break;
        }
        spans.push(Span::styled(truncate(&s.content, left), s.style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), owner_area);
    let text_w = usize::from(inner.width.saturating_sub(LABEL_WIDTH + 1));
    let mut top_lines = vec![labelled("stage", stage_line(place.stage), text_w)];
    if let Some(why) = &place.blocker {
        top_lines.push(labelled(
            "blocked",
            vec![Span::styled(why.clone(), theme::warn())],
            text_w,
        ));
    }
    // A partner's technician (or a guest) signed in: said near the top, with what blocks,
    // since Microsoft may refuse a partner some of the removals.
    if let Some(spans) = partner {
        top_lines.push(labelled("sign-in", spans, text_w));
    }
    let top_area = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1).min(top_lines.len() as u16),
        ..inner
    };
    let used = 1 + top_area.height;
    frame.render_widget(Paragraph::new(top_lines), top_area);
    let table_h = (table_rows + 1).min(usize::from(inner.height.saturating_sub(used))) as u16;
    let rest = Rect {
        y: inner.y + used,
        height: table_h,
        ..inner
    };
    frame.render_widget(table, rest);
    // Room to spare (120x40): the whole path, and the blocker unshortened.
    let spare = Rect {
        y: rest.y + rest.height + 1,
        height: inner.height.saturating_sub(used + table_h + 1),
        ..inner
    };
    let mut lines = pack("path", path_items(place.stage), text_w);
    if let Some(why) = &place.blocker
        && widgets::width(why) > text_w
    {
        let words = why
            .split_whitespace()
            .map(|w| Span::styled(w.to_string(), theme::warn()))
            .collect();
        lines.extend(pack("blocked", words, text_w));
    }
    if spare.height > 0 && lines.len() <= usize::from(spare.height) {
        frame.render_widget(Paragraph::new(lines), spare);
    }
}

/// `label` in the label column, then the spans cut to `width`.
fn labelled(label: &str, spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = vec![Span::styled(
        format!("{label:<w$} ", w = usize::from(LABEL_WIDTH)),
        theme::dim(),
    )];
    for s in spans {
        let used: usize = out.iter().skip(1).map(Span::width).sum();
        let left = width.saturating_sub(used);
        if left == 0 {
            break;
        }
        out.push(Span::styled(truncate(&s.content, left), s.style));
    }
    Line::from(out)
}

/// The short form of the place: how far along its path, the current stage, the next one.
fn stage_line(stage: Stage) -> Vec<Span<'static>> {
    let path = stage.path();
    let Some(at) = path.iter().position(|s| *s == stage) else {
        return vec![Span::styled(stage.label(), theme::dim())];
    };
    let current = if stage.next().is_none() {
        theme::ok()
    } else {
        theme::header()
    };
    let mut out = vec![
        Span::styled(format!("{}/{} ", at + 1, path.len()), theme::dim()),
        Span::styled(stage.label(), current),
    ];
    if let Some(next) = stage.next() {
        out.push(Span::styled(format!(" → {}", next.label()), theme::dim()));
    }
    out
}

/// Every stage of the path, marked done (✓), current (▶) or to come (·).
fn path_items(stage: Stage) -> Vec<Span<'static>> {
    let path = stage.path();
    let at = path.iter().position(|s| *s == stage).unwrap_or(0);
    path.iter()
        .enumerate()
        .map(|(i, s)| match i.cmp(&at) {
            std::cmp::Ordering::Less => Span::styled(format!("✓ {}", s.label()), theme::ok()),
            std::cmp::Ordering::Equal => Span::styled(format!("▶ {}", s.label()), theme::header()),
            std::cmp::Ordering::Greater => Span::styled(format!("· {}", s.label()), theme::dim()),
        })
        .collect()
}

/// Items laid out in lines of `width` cells after the label column (the label on the first
/// line), each item whole on one line unless it alone is wider.
fn pack(label: &str, items: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for item in items {
        let w = item.width();
        match lines.last_mut() {
            Some(line) if used + 1 + w <= width => {
                line.push(Span::raw(" "));
                line.push(item);
                used += 1 + w;
            }
            _ => {
                used = w.min(width);
                lines.push(vec![Span::styled(
                    truncate(&item.content, width),
                    item.style,
                )]);
            }
        }
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, spans)| {
            let head = if i == 0 { label } else { "" };
            let mut out = vec![Span::styled(
                format!("{head:<w$} ", w = usize::from(LABEL_WIDTH)),
                theme::dim(),
            )];
            out.extend(spans);
            Line::from(out)
        })
        .collect()
}

/// Who holds the domain seen from outside: which configured tenant (or another), the
/// namespace type, the tenant id, and a warning when a source failed.
fn owner(state: &State) -> Vec<Span<'static>> {
    use crate::graph::discovery::Verdict;
    let Some(o) = state.outside.last.as_ref() else {
        return vec![Span::styled("not yet asked", theme::dim())];
    };
    let org_id = |t: &TenantState| t.snapshot.as_ref().map(|s| s.organization.id.clone());
    let mut out = match (o.verdict(), o.tenant_id()) {
        (Verdict::Held, Some(id)) => {
            use crate::graph::discovery::Holder;
            let mut configured = vec![(Holder::Source, org_id(&state.source))];
            if !state.destination.unconfigured {
                configured.push((Holder::Destination, org_id(&state.destination)));
            }
            let known: Vec<(Holder, Option<&str>)> = configured
                .iter()
                .map(|(who, id)| (*who, id.as_deref()))
                .collect();
            let who = match o.holder(&known) {
                Some(Holder::Source) => Span::styled("source", theme::warn()),
                Some(Holder::Destination) => Span::styled("destination", theme::ok()),
                Some(Holder::Other) => Span::styled("other tenant", theme::error()),
                // Until both tenants have answered, "other" would be a guess.
                _ => Span::styled("a tenant", theme::dim()),
            };
            let mut v = vec![who];
            if let Some(ns) = o.namespace_type() {
                v.push(Span::raw(format!(" · {ns}")));
            }
            v.push(Span::styled(format!(" · {id}"), theme::dim()));
            v
        }
        (Verdict::Held, None) => vec![Span::raw(format!(
            "a tenant · {}",
            o.namespace_type().unwrap_or("?")
        ))],
        (Verdict::Free, _) => vec![Span::styled("no tenant (AADSTS90002)", theme::warn())],
        (Verdict::Unknown, _) => vec![Span::styled("unknown", theme::error())],
    };
    let faults = o.faults();
    if !faults.is_empty() {
        let names: Vec<&str> = faults.iter().map(|(s, _)| s.label()).collect();
        out.insert(
            0,
            Span::styled(format!("{} failed · ", names.join(", ")), theme::error()),
        );
    }
    out
}

/// Objects in the source tenant that still hold the domain: the inventory's total, the same
/// number the Users pane and `cutover inventory` show.
fn holding(state: &State) -> Span<'static> {
    match (&state.inventory.holding, &state.inventory.last_error) {
        (Some(h), _) if h.total == 0 => Span::styled("0", theme::ok()),
        (Some(h), _) => Span::styled(format!("{} ({})", h.total, h.split()), theme::warn()),
        (None, Some(_)) => Span::styled("inventory failed", theme::error()),
        (None, None) => Span::styled("counting…", theme::dim()),
    }
}

fn widest(cells: &[Span<'_>], header: &str) -> u16 {
    let w = cells.iter().map(Span::width).max().unwrap_or(0);
    w.max(header.len()).min(usize::from(u16::MAX)) as u16
}

/// The values of [`LABELS`] for one tenant.
fn column(tenant: &TenantState) -> [Span<'static>; 6] {
    let dash = || Span::styled("–", theme::dim());
    if tenant.unconfigured {
        let mut out = std::array::from_fn(|_| dash());
        out[0] = Span::styled("not configured", theme::dim());
        return out;
    }
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
        out[5] = org;
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
        org,
    ]
}

/// Which tenants are read (and would be changed) with a sign-in of another tenant's user, and
/// that user's home tenant; `None` when neither is (the tenants' own users and app-only
/// sign-ins cannot be told apart, so nothing is claimed of them).
fn sign_in(state: &State) -> Option<Vec<Span<'static>>> {
    let mut out = Vec::new();
    for id in [TenantId::Source, TenantId::Destination] {
        let Some(other) = state
            .tenant(id)
            .snapshot
            .as_ref()
            .and_then(|s| s.signed_in_from.as_ref())
        else {
            continue;
        };
        if !out.is_empty() {
            out.push(Span::raw(" · "));
        }
        out.push(Span::styled(
            format!("{}: partner or guest of {}", id.as_str(), other.home),
            theme::warn(),
        ));
    }
    (!out.is_empty()).then_some(out)
}

fn health(tenant: &TenantState) -> Span<'static> {
    let (text, style): (String, Style) = match &tenant.health {
        Health::Connecting => ("connecting".into(), theme::dim()),
        Health::Ok => ("ok".into(), theme::ok()),
        Health::Failing(e) => (format!("ERROR: {e}"), theme::error()),
    };
    Span::styled(text, style)
}
