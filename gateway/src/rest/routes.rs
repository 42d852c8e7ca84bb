//! The routes of the surface, from the `google.api.http` rules of the
//! contracts' RPCs.
//!
//! A rule whose path ends in a variable (`/accounts/{id}`) is an operation
//! on one object; the RPCs whose `paymesh.rest.v1.method` names it as
//! `list_of` or `query_of` serve the same HTTP method on the collection's
//! path (`PUT /accounts` with a list, or `?mode=query`). A rule on a
//! resource's canonical collection serves each of its views too. A path
//! with a variable before its last segment is nested: the variable names an
//! object of the collection before it, which must exist first.

use std::sync::Arc;

use http::Method;
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};

use super::surface::{Calls, Collection, Instead, Op, Route, Surface, Verb, binding, method_doc, rules};

/// The whole surface of the contracts in `descriptors`.
pub fn load(descriptors: &[u8]) -> anyhow::Result<Surface> {
    let pool = DescriptorPool::decode(descriptors)?;
    let mut surface = Surface::read(&pool);
    surface.routes = build(&surface, &pool);
    Ok(surface)
}

/// The resource field of a response: the first message field whose type
/// is a resource, else the first message field.
pub fn primary(surface: &Surface, message: &MessageDescriptor) -> Option<FieldDescriptor> {
    let fields = || message.fields().filter(|f| matches!(f.kind(), Kind::Message(_)));
    fields().find(|f| matches!(f.kind(), Kind::Message(m) if surface.resource(&m).is_some())).or_else(|| {
        fields().find(|f| !matches!(f.kind(), Kind::Message(m) if m.full_name().starts_with("google.")))
    })
}

/// Whether `message` has a field of type `name`.
pub fn field_of_type(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message.fields().find(|f| matches!(f.kind(), Kind::Message(m) if m.full_name() == name))
}

/// One rule of an RPC, before routes are grouped.
struct Bound {
    path: String,
    op: Op,
    /// The resource the operation answers.
    item: Option<MessageDescriptor>,
}

fn build(surface: &Surface, pool: &DescriptorPool) -> Vec<Route> {
    let mut bound = Vec::new();
    for service in pool.services().filter(|s| s.package_name().starts_with("paymesh.")) {
        let methods: Vec<MethodDescriptor> = service.methods().collect();
        let named = |pick: fn(&paymesh_proto::rest::v1::Method) -> &str, target: &str| {
            methods.iter().find(|m| pick(&rules(m).1) == target).cloned()
        };
        for rpc in &methods {
            let (Some(rule), extra) = rules(rpc) else { continue };
            let instead = methods.iter().find_map(|m| {
                let (rule, e) = rules(m);
                let (attr, word) = e.update_when.split_once('=')?;
                let calls = Calls {
                    one: Some(m.clone()),
                    list: named(|e| &e.list_of, m.name()),
                    query: named(|e| &e.query_of, m.name()),
                };
                let bind = rule.as_ref().and_then(binding).and_then(|(_, path)| variable(path));
                Some(Instead { attr: attr.to_owned(), word: word.to_owned(), calls, bind })
            });
            let rules_of = std::iter::once(&rule).chain(rule.additional_bindings.iter());
            for (n, r) in rules_of.enumerate() {
                let Some((method, template)) = binding(r) else { continue };
                let body = match r.body.as_str() {
                    "" | "*" => None,
                    name => rpc.input().get_field_by_name(name),
                };
                let verb = verb(&method, template, rpc, body.as_ref());
                let item = match (&verb, &body) {
                    (Verb::Create | Verb::Update, Some(f)) => f.kind().as_message().cloned(),
                    _ => primary(surface, &rpc.output()).and_then(|f| f.kind().as_message().cloned()),
                };
                let one = template.ends_with('}');
                let var = variable(template);
                let mut op = Op {
                    method: method.clone(),
                    id: if n == 0 { snake(rpc.name()) } else { String::new() },
                    verb,
                    calls: Calls { one: Some(rpc.clone()), ..Calls::default() },
                    instead: instead.clone().filter(|_| verb == Verb::Update),
                    body,
                    bind: var,
                    download: extra.download,
                    doc: method_doc(rpc),
                };
                if op.verb == Verb::Create {
                    op.calls.list = named(|e| &e.list_of, rpc.name());
                }
                let (list, query) = (named(|e| &e.list_of, rpc.name()), named(|e| &e.query_of, rpc.name()));
                if one && (list.is_some() || query.is_some()) && matches!(verb, Verb::Update | Verb::Delete) {
                    // The list and query forms live on the collection's path.
                    let base = template.rsplit_once('/').map_or("", |(b, _)| b).to_owned();
                    let many = Op {
                        id: String::new(),
                        calls: Calls { one: None, list, query },
                        instead: op.instead.clone(),
                        bind: None,
                        ..op.clone()
                    };
                    bound.push(Bound { path: base, op: many, item: item.clone() });
                }
                bound.push(Bound { path: template.to_owned(), op, item });
            }
        }
    }
    group(surface, bound)
}

/// The variable of a path template (`owner.legal_entity_id`).
fn variable(template: &str) -> Option<String> {
    template.split('/').find_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned)
}

fn verb(method: &Method, template: &str, rpc: &MethodDescriptor, body: Option<&FieldDescriptor>) -> Verb {
    let one = template.ends_with('}');
    let lists = field_of_type(&rpc.input(), "paymesh.common.v1.ListQuery").is_some();
    match *method {
        Method::GET if one => Verb::Get,
        Method::GET if lists => Verb::List,
        Method::POST if body.is_some() => Verb::Create,
        Method::PUT => Verb::Update,
        Method::DELETE => Verb::Delete,
        _ => Verb::Custom,
    }
}

/// `CreateAccount` → `create_account`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The collection whose path is `path`.
fn collection_at<'a>(surface: &'a Surface, path: &str) -> Option<&'a Arc<Collection>> {
    surface.resources().flat_map(|r| r.collections.iter()).find(|c| c.path == path)
}

/// Groups the bound operations by path, each view of a resource getting
/// the operations of its canonical path.
fn group(surface: &Surface, bound: Vec<Bound>) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    for Bound { path, op, item } in bound {
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let anchor = format!("/{}", segments.first().copied().unwrap_or_default());
        let views: Vec<Arc<Collection>> = collection_at(surface, &anchor)
            .and_then(|c| surface.resource(&c.message))
            .filter(|r| r.collections.first().is_some_and(|c| c.path == anchor))
            .map(|r| r.collections.clone())
            .unwrap_or_default();
        let prefixes: Vec<String> = if views.is_empty() {
            vec![anchor.clone()]
        } else {
            views.iter().map(|c| c.path.clone()).collect()
        };
        let expanded = prefixes.len() > 1;
        for prefix in prefixes {
            let rest: Vec<String> = segments
                .iter()
                .skip(1)
                .map(|s| if s.starts_with('{') { "{id}".to_owned() } else { (*s).to_owned() })
                .collect();
            let concrete =
                std::iter::once(prefix.clone()).chain(rest.iter().cloned()).collect::<Vec<_>>().join("/");
            let var_second = segments.get(1).is_some_and(|s| s.starts_with('{'));
            let own = segments.len() == 1 || (segments.len() == 2 && var_second);
            let one = own && var_second;
            let collection = if own {
                collection_at(surface, &prefix).filter(|c| item.as_ref() == Some(&c.message)).cloned()
            } else {
                item.as_ref().and_then(|m| surface.resource(m)).and_then(|r| r.collections.first().cloned())
            };
            let parent = (segments.len() > 2 && var_second)
                .then(|| collection_at(surface, &prefix).cloned())
                .flatten();
            let mut op = op.clone();
            op.id = match (&collection, own) {
                (Some(c), true) => {
                    let many = !one && matches!(op.verb, Verb::List | Verb::Update | Verb::Delete);
                    let noun =
                        if many { c.path.trim_start_matches('/').to_owned() } else { c.object.clone() };
                    format!("{}_{noun}", verb_word(op.verb))
                }
                _ if !op.id.is_empty() && !expanded => op.id,
                _ => format!(
                    "{}_{}",
                    verb_word(op.verb),
                    concrete
                        .split('/')
                        .filter(|s| !s.is_empty() && !s.starts_with('{'))
                        .collect::<Vec<_>>()
                        .join("_")
                ),
            };
            match routes.iter_mut().find(|r| r.path == concrete) {
                Some(route) => match route.ops.iter_mut().find(|o| o.method == op.method) {
                    Some(existing) => {
                        existing.calls.one = existing.calls.one.take().or(op.calls.one);
                        existing.calls.list = existing.calls.list.take().or(op.calls.list);
                        existing.calls.query = existing.calls.query.take().or(op.calls.query);
                    }
                    None => route.ops.push(op),
                },
                None => routes.push(Route { path: concrete, collection, parent, one, own, ops: vec![op] }),
            }
        }
    }
    routes
}

fn verb_word(verb: Verb) -> &'static str {
    match verb {
        Verb::Get => "get",
        Verb::Custom => "call",
        Verb::List => "list",
        Verb::Create => "create",
        Verb::Update => "update",
        Verb::Delete => "delete",
    }
}
