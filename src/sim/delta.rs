//! Delta queries: `/v1.0/users/delta` and `/v1.0/groups/delta`. A first round pages through
//! everything and ends with an `@odata.deltaLink`; that link returns exactly the objects
//! changed since (current state, or `@removed` for deleted ones); `$deltatoken=latest` returns
//! no objects, only a link from now on. Changes are recorded by the `Sim` mutation methods.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::graph::{
    Ctx, DEFAULT_PAGE, GROUP_DEFAULT, Options, RawQuery, USER_MODELED, USER_UNMODELED, context,
    expired_token, ok, parse_options, render_group, render_user,
};
use super::http::Shared;
use super::rng::Rng;

/// One recorded change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub tenant: usize,
    pub users: bool,
    pub id: String,
}

fn check(key: u64, parts: &[u64]) -> u32 {
    let mixed = parts.iter().fold(key, |acc, p| {
        acc.rotate_left(17) ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    });
    Rng::new(mixed).next_u64() as u32
}

fn encode(key: u64, parts: &[u64]) -> String {
    let mut s: Vec<String> = parts.iter().map(|p| format!("{p:x}")).collect();
    s.push(format!("{:x}", check(key, parts)));
    s.join("-")
}

fn decode(key: u64, token: &str, n: usize) -> Option<Vec<u64>> {
    let raw: Vec<u64> = token
        .split('-')
        .map(|p| u64::from_str_radix(p, 16).ok())
        .collect::<Option<_>>()?;
    let (last, parts) = raw.split_last()?;
    (parts.len() == n && check(key, parts) as u64 == *last).then(|| parts.to_vec())
}

fn split_delta_token(query: RawQuery) -> (Option<String>, RawQuery) {
    match query {
        Ok(Query(pairs)) => {
            let mut token = None;
            let rest = pairs
                .into_iter()
                .filter(|(k, v)| {
                    if k.eq_ignore_ascii_case("$deltatoken") {
                        token = Some(v.clone());
                        false
                    } else {
                        true
                    }
                })
                .collect();
            (token, Ok(Query(rest)))
        }
        Err(e) => (None, Err::<Query<Vec<(String, String)>>, QueryRejection>(e)),
    }
}

pub(crate) async fn users_delta(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    delta(state, headers, extensions, query, true).await
}

pub(crate) async fn groups_delta(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    delta(state, headers, extensions, query, false).await
}

async fn delta(
    state: Shared,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
    users: bool,
) -> Response {
    let (delta_token, query) = split_delta_token(query);
    let required = if users {
        &super::permissions::USERS
    } else {
        &super::permissions::GROUPS
    };
    let ctx = begin_or_return!(state, headers, extensions, *required);
    let (known, entity): (Vec<&[&'static str]>, &str) = if users {
        (vec![USER_MODELED, USER_UNMODELED], "microsoft.graph.user")
    } else {
        (vec![GROUP_DEFAULT], "microsoft.graph.group")
    };
    let opts = match parse_options(query, &known, entity, &ctx.ids) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let name = if users { "users" } else { "groups" };
    let now = match state.changes.lock() {
        Ok(c) => c.len() as u64,
        Err(_) => return expired_token(&ctx.ids),
    };
    let kind = users as u64;
    let tenant = ctx.tenant as u64;
    let key = state.page_key;
    let delta_link = |seq: u64| {
        format!(
            "{}/v1.0/{name}/delta?{}$deltatoken={}",
            state.base_url,
            select_part(&opts),
            encode(key, &[seq, kind, tenant])
        )
    };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/delta", context(name, opts.select.as_ref()))),
    );
    if let Some(token) = delta_token {
        if token.eq_ignore_ascii_case("latest") {
            body.insert("@odata.deltaLink".into(), json!(delta_link(now)));
            body.insert("value".into(), json!([]));
            return ok(Value::Object(body));
        }
        let Some(parts) = decode(key, &token, 3) else {
            return expired_token(&ctx.ids);
        };
        if parts[1] != kind || parts[2] != tenant || parts[0] > now {
            return expired_token(&ctx.ids);
        }
        let value = changed_since(&state, &ctx, &opts, parts[0], users);
        body.insert("@odata.deltaLink".into(), json!(delta_link(now)));
        body.insert("value".into(), Value::Array(value));
        return ok(Value::Object(body));
    }
    // First round: pages of everything, the round's start carried in the skip token.
    let (start_seq, pos) = match &opts.skip_token {
        Some(tok) => match decode(key, tok, 4) {
            Some(p) if p[2] == kind && p[3] == tenant => (p[0], p[1] as usize),
            _ => return expired_token(&ctx.ids),
        },
        None => (now, 0),
    };
    let t = ctx.tenant();
    let total = if users { t.users.len() } else { t.groups.len() };
    let top = opts.top.unwrap_or(DEFAULT_PAGE);
    let start = pos.min(total);
    let end = start.saturating_add(top).min(total);
    let value: Vec<Value> = (start..end)
        .map(|i| {
            if users {
                render_user(&t.users[i], opts.select.as_ref(), false)
            } else {
                render_group(&t.groups[i], opts.select.as_ref(), false)
            }
        })
        .collect();
    if end < total {
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/v1.0/{name}/delta?{}$skiptoken={}",
                state.base_url,
                select_part(&opts),
                encode(key, &[start_seq, end as u64, kind, tenant])
            )),
        );
    } else {
        // Changes made during the round come with the next delta.
        body.insert("@odata.deltaLink".into(), json!(delta_link(start_seq)));
    }
    body.insert("value".into(), Value::Array(value));
    ok(Value::Object(body))
}

fn select_part(opts: &Options) -> String {
    match &opts.select {
        Some(s) => format!("$select={}&", s.join(",")),
        None => String::new(),
    }
}

/// Objects changed after `seq`: each once, in its current state or as removed.
fn changed_since(
    state: &Shared,
    ctx: &Ctx<'_>,
    opts: &Options,
    seq: u64,
    users: bool,
) -> Vec<Value> {
    let ids: Vec<String> = match state.changes.lock() {
        Ok(c) => {
            let mut seen = std::collections::HashSet::new();
            c.iter()
                .skip(seq as usize)
                .filter(|ch| ch.tenant == ctx.tenant && ch.users == users)
                .filter(|ch| seen.insert(ch.id.clone()))
                .map(|ch| ch.id.clone())
                .collect()
        }
        Err(_) => Vec::new(),
    };
    let t = ctx.tenant();
    ids.into_iter()
        .map(|id| {
            let current = if users {
                t.user(&id)
                    .map(|u| render_user(u, opts.select.as_ref(), false))
            } else {
                t.group(&id)
                    .map(|g| render_group(g, opts.select.as_ref(), false))
            };
            current.unwrap_or_else(|| json!({"id": id, "@removed": {"reason": "changed"}}))
        })
        .collect()
}
