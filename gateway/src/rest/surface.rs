//! The REST surface, read once from the contracts' descriptors.
//!
//! Every message gets a [`Plan`]: its attributes with their wire names and
//! rules (`google.api.field_behavior` and `paymesh.rest.v1.field`), and the
//! lookup a body's keys go through. Every message with a
//! `paymesh.rest.v1.resource` option is a [`Resource`] served as its
//! [`Collection`]s. Every RPC with a `google.api.http` rule becomes an
//! [`Op`] on a [`Route`]; the batch and query RPCs that serve its lists
//! (`paymesh.rest.v1.method`) join it. A rule on a resource's first
//! collection serves every view of it (`/accounts` → `/customers`,
//! `/processing_accounts`).

use std::{collections::HashMap, sync::Arc};

use http::Method;
use paymesh_proto::{
    google::api::{HttpRule, http_rule::Pattern},
    rest::v1 as ann,
};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    ReflectMessage as _,
};

/// How one field is written on REST.
#[derive(Debug)]
pub struct Attr {
    /// The field.
    pub field: FieldDescriptor,
    /// Its wire name; dotted when it lives in an object of its own.
    pub name: String,
    /// The `paymesh.rest.v1.field` rules.
    pub rules: ann::Field,
    /// `REQUIRED`: null is a problem, and empty is shown as it is.
    pub required: bool,
    /// `OUTPUT_ONLY`: compared on updates, refused on creates.
    pub output_only: bool,
    /// `INPUT_ONLY`: never shown.
    pub input_only: bool,
    /// `IMMUTABLE`: written on create, compared on updates.
    pub immutable: bool,
    /// The field's comment.
    pub doc: String,
}

impl Attr {
    /// The proto name of the field (what update masks and violations say).
    pub fn proto(&self) -> &str {
        self.field.name()
    }

    /// Whether the field holds Money written as one number.
    pub fn money_number(&self) -> bool {
        self.rules.format() == ann::Format::MoneyNumber
    }

    /// Whether the object meets the field's `when` condition, looking the
    /// attribute up in `messages`, innermost first.
    pub fn shown_on(&self, surface: &Surface, messages: &[&DynamicMessage]) -> bool {
        let Some((attr, words)) = self.rules.when.split_once('=') else { return true };
        messages
            .iter()
            .rev()
            .find_map(|m| surface.word_of(m, attr))
            .is_some_and(|w| words.split('|').any(|x| x == w))
    }
}

/// Where a key of a body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// An attribute, by its name or (`alias`) another.
    Attr { index: usize, alias: bool },
    /// The first part of dotted names (`payer` of `payer.id`).
    Virtual,
    /// An attribute of the message field `index` given at this level.
    Into(usize),
    /// The currency of the Money field `index`, written as a number.
    Currency(usize),
}

/// The attributes of one message.
#[derive(Debug)]
pub struct Plan {
    /// Every field, in declaration order.
    pub attrs: Vec<Attr>,
    lookup: HashMap<String, Slot>,
}

impl Plan {
    /// Where `key` of a body goes.
    pub fn slot(&self, key: &str) -> Option<Slot> {
        self.lookup.get(key).copied()
    }

    /// The attribute of the proto field `name`.
    pub fn by_proto(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.proto() == name)
    }
}

/// The words of an enum's values (UNSPECIFIED has none).
#[derive(Debug, Default)]
pub struct Words(Vec<(i32, String)>);

impl Words {
    /// The word of value `n`.
    pub fn word(&self, n: i32) -> Option<&str> {
        self.0.iter().find(|(v, _)| *v == n).map(|(_, w)| w.as_str())
    }

    /// The value of `word`.
    pub fn number(&self, word: &str) -> Option<i32> {
        self.0.iter().find(|(_, w)| w == word).map(|(v, _)| *v)
    }

    /// Every word, in order.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, w)| w.as_str())
    }
}

/// A resource message and where REST serves it.
#[derive(Debug)]
pub struct Resource {
    /// The message.
    pub message: MessageDescriptor,
    /// Its `object` word.
    pub object: String,
    /// Its collections, the canonical one first.
    pub collections: Vec<Arc<Collection>>,
}

/// One REST collection.
#[derive(Debug)]
pub struct Collection {
    /// `/customers`.
    pub path: String,
    /// The `object` of objects read here.
    pub object: String,
    /// The `object` words a body may carry.
    pub accepts: Vec<String>,
    /// The condition every object here meets: attribute and word.
    pub filter: Option<(String, String)>,
    /// The 404 description.
    pub not_found: String,
    /// The 405s of what is not offered: method (None for any) and why.
    pub refusals: Vec<(Option<Method>, String)>,
    /// Why lists are refused, said after the 405.
    pub one_at_a_time: String,
    /// The resource message.
    pub message: MessageDescriptor,
}

/// What an operation does with the REST request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET /things/{id}`.
    Get,
    /// `GET /things`, with the query language.
    List,
    /// `POST /things`: one object or a list.
    Create,
    /// `PUT`: one object by id, a list, a query, or a singleton.
    Update,
    /// `DELETE`: one object by id, a list or a query.
    Delete,
    /// Any other: the body is the request, the answer its response.
    Custom,
}

/// The RPCs behind one operation: one object, a list body, a query.
#[derive(Debug, Clone, Default)]
pub struct Calls {
    /// One object.
    pub one: Option<MethodDescriptor>,
    /// A list body, all or none.
    pub list: Option<MethodDescriptor>,
    /// `mode=query`.
    pub query: Option<MethodDescriptor>,
}

/// The operation an update stands for (`paymesh.rest.v1.method.update_when`).
#[derive(Debug, Clone)]
pub struct Instead {
    /// The attribute the update sets (`status`).
    pub attr: String,
    /// The word it sets it to (`CANCELED`).
    pub word: String,
    /// The operation's RPCs: one object, a list, a query.
    pub calls: Calls,
    /// Where its own rule binds the path's id (`id`).
    pub bind: Option<String>,
}

/// One operation: an HTTP method on a route.
#[derive(Debug, Clone)]
pub struct Op {
    /// The HTTP method.
    pub method: Method,
    /// The `operationId`.
    pub id: String,
    /// What it does.
    pub verb: Verb,
    /// Its RPCs.
    pub calls: Calls,
    /// An update that only sets an attribute to a word is another
    /// operation (`status=CANCELED` cancels).
    pub instead: Option<Instead>,
    /// The request field the body fills (`None`: the whole request).
    pub body: Option<FieldDescriptor>,
    /// Where the path's id goes: a request field path (`owner.legal_entity_id`)
    /// or, when the request has none, an attribute to filter on.
    pub bind: Option<String>,
    /// The answer is a file.
    pub download: bool,
    /// What the RPC's comment says.
    pub doc: String,
}

/// A path and its operations.
#[derive(Debug)]
pub struct Route {
    /// The path as routed and described (`/customers/{id}`).
    pub path: String,
    /// The collection whose objects the route answers, when it is one of
    /// its own paths (`/customers`, `/customers/{id}`).
    pub collection: Option<Arc<Collection>>,
    /// The collection the path's id must name an object of first (nested
    /// paths: `/legal_entities/{id}/owners`).
    pub parent: Option<Arc<Collection>>,
    /// Whether the path names one object of the collection (`/things/{id}`).
    pub one: bool,
    /// Whether the path is the collection's own (`/things`, `/things/{id}`),
    /// where its refusals answer what is not offered.
    pub own: bool,
    /// One per method.
    pub ops: Vec<Op>,
}

/// Everything REST knows of the contracts.
#[derive(Debug)]
pub struct Surface {
    plans: HashMap<String, Plan>,
    words: HashMap<String, Words>,
    resources: HashMap<String, Arc<Resource>>,
    /// Every route, in the order the contracts define them.
    pub routes: Vec<Route>,
}

// === Reading the descriptors ===

/// The extension `name` of `options`, as its message.
fn extension<T: prost::Message + Default>(options: &DynamicMessage, name: &str) -> Option<T> {
    let ext = options.descriptor().parent_pool().get_extension_by_name(name)?;
    if !options.has_extension(&ext) {
        return None;
    }
    options.get_extension(&ext).as_message()?.transcode_to().ok()
}

/// The leading comment of the element at `path` in its file.
fn comment(file: &prost_types::FileDescriptorProto, path: &[i32]) -> String {
    let found = file.source_code_info.as_ref().and_then(|info| info.location.iter().find(|l| l.path == path));
    let text = found.and_then(|l| l.leading_comments.clone()).unwrap_or_default();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn plan(pool: &DescriptorPool, message: &MessageDescriptor) -> Plan {
    let behavior_ext = pool.get_extension_by_name("google.api.field_behavior");
    let attrs: Vec<Attr> = message
        .fields()
        .map(|field| {
            let options = field.options();
            let rules: ann::Field = extension(&options, "paymesh.rest.v1.field").unwrap_or_default();
            let behaviors: Vec<i32> = behavior_ext
                .as_ref()
                .filter(|ext| options.has_extension(ext))
                .and_then(|ext| options.get_extension(ext).as_list().map(<[_]>::to_vec))
                .unwrap_or_default()
                .iter()
                .filter_map(prost_reflect::Value::as_enum_number)
                .collect();
            let has = |b: paymesh_proto::google::api::FieldBehavior| behaviors.contains(&(b as i32));
            use paymesh_proto::google::api::FieldBehavior as B;
            let name = if rules.name.is_empty() { field.name().to_owned() } else { rules.name.clone() };
            Attr {
                doc: comment(field.parent_file().file_descriptor_proto(), field.path()),
                name,
                required: has(B::Required),
                output_only: has(B::OutputOnly),
                input_only: has(B::InputOnly),
                immutable: has(B::Immutable),
                rules,
                field,
            }
        })
        .collect();
    let mut lookup = HashMap::new();
    // Attributes reached through a message field come first, so that the
    // message's own attributes win a clash.
    for (index, attr) in attrs.iter().enumerate() {
        if let (true, Kind::Message(inner)) =
            (attr.rules.flatten || attr.rules.accept_flat, attr.field.kind())
        {
            for key in plan(pool, &inner).lookup.into_keys() {
                lookup.insert(key, Slot::Into(index));
            }
        }
    }
    for (index, attr) in attrs.iter().enumerate() {
        match attr.name.split_once('.') {
            Some((head, _)) => lookup.insert(head.to_owned(), Slot::Virtual),
            None => lookup.insert(attr.name.clone(), Slot::Attr { index, alias: false }),
        };
        for alias in &attr.rules.aliases {
            lookup.insert(alias.clone(), Slot::Attr { index, alias: true });
        }
        if attr.money_number() && !attr.rules.currency.is_empty() {
            lookup.insert(attr.rules.currency.clone(), Slot::Currency(index));
        }
    }
    Plan { attrs, lookup }
}

fn words(enumeration: &prost_reflect::EnumDescriptor) -> Words {
    let upper = extension::<ann::EnumWords>(&enumeration.options(), "paymesh.rest.v1.words")
        .is_some_and(|w| w.upper_case);
    let prefix = enumeration.get_value(0).map(|v| v.name().trim_end_matches("UNSPECIFIED").to_owned());
    let word_ext = enumeration.parent_pool().get_extension_by_name("paymesh.rest.v1.word");
    Words(
        enumeration
            .values()
            .filter(|v| v.number() != 0)
            .map(|v| {
                let options = v.options();
                let given = word_ext
                    .as_ref()
                    .filter(|ext| options.has_extension(ext))
                    .and_then(|ext| options.get_extension(ext).as_str().map(str::to_owned));
                let bare = v.name().strip_prefix(prefix.as_deref().unwrap_or("")).unwrap_or(v.name());
                let word = given.unwrap_or_else(|| {
                    if upper { bare.to_ascii_uppercase() } else { bare.to_ascii_lowercase() }
                });
                (v.number(), word)
            })
            .collect(),
    )
}

fn resource(message: &MessageDescriptor) -> Option<Resource> {
    let spec: ann::Resource = extension(&message.options(), "paymesh.rest.v1.resource")?;
    let words: Vec<String> = std::iter::once(spec.object.clone())
        .chain(spec.collections.iter().map(|c| c.object.clone()))
        .filter(|w| !w.is_empty())
        .collect();
    let collections = spec
        .collections
        .iter()
        .map(|c| {
            let object = if c.object.is_empty() { spec.object.clone() } else { c.object.clone() };
            let mut accepts = words.clone();
            accepts.extend(c.accepts.iter().cloned());
            let not_found = if c.not_found.is_empty() {
                let mut text = format!("{} not found", object.replace('_', " "));
                text[..1].make_ascii_uppercase();
                text
            } else {
                c.not_found.clone()
            };
            Arc::new(Collection {
                path: c.path.clone(),
                object,
                accepts,
                filter: c.filter.split_once('=').map(|(a, w)| (a.to_owned(), w.to_owned())),
                not_found,
                refusals: c
                    .refusals
                    .iter()
                    .map(|r| (r.method.parse().ok().filter(|_| !r.method.is_empty()), r.description.clone()))
                    .collect(),
                one_at_a_time: c.one_at_a_time.clone(),
                message: message.clone(),
            })
        })
        .collect();
    Some(Resource { message: message.clone(), object: spec.object, collections })
}

impl Surface {
    /// Reads the attributes, words and resources of every message in
    /// `pool` (the routes are added by `routes`).
    pub fn read(pool: &DescriptorPool) -> Self {
        let plans = pool.all_messages().map(|m| (m.full_name().to_owned(), plan(pool, &m))).collect();
        let words = pool.all_enums().map(|e| (e.full_name().to_owned(), words(&e))).collect();
        let resources = pool
            .all_messages()
            .filter_map(|m| Some((m.full_name().to_owned(), Arc::new(resource(&m)?))))
            .collect();
        Self { plans, words, resources, routes: Vec::new() }
    }

    /// The plan of `message`.
    pub fn plan(&self, message: &MessageDescriptor) -> &Plan {
        static EMPTY: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
        self.plans
            .get(message.full_name())
            .unwrap_or_else(|| EMPTY.get_or_init(|| Plan { attrs: Vec::new(), lookup: HashMap::new() }))
    }

    /// The words of `enumeration`.
    pub fn words(&self, enumeration: &prost_reflect::EnumDescriptor) -> &Words {
        static EMPTY: Words = Words(Vec::new());
        self.words.get(enumeration.full_name()).unwrap_or(&EMPTY)
    }

    /// The resource `message` is, if any.
    pub fn resource(&self, message: &MessageDescriptor) -> Option<&Arc<Resource>> {
        self.resources.get(message.full_name())
    }

    /// Every resource.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<Resource>> {
        self.resources.values()
    }

    /// The word of the enum attribute `attr` (wire name) of `message`.
    pub fn word_of(&self, message: &DynamicMessage, attr: &str) -> Option<String> {
        let found = self.plan(&message.descriptor()).attrs.iter().find(|a| a.name == attr)?;
        let Kind::Enum(e) = found.field.kind() else { return None };
        let number = message.get_field(&found.field).as_enum_number()?;
        self.words(&e).word(number).map(str::to_owned)
    }

    /// The collection that shows `message` best: the first view whose
    /// filter it meets, else the canonical one.
    pub fn collection_of(&self, message: &DynamicMessage) -> Option<&Arc<Collection>> {
        let resource = self.resource(&message.descriptor())?;
        resource
            .collections
            .iter()
            .find(|c| c.filter.as_ref().is_some_and(|(a, w)| self.word_of(message, a).as_deref() == Some(w)))
            .or_else(|| resource.collections.first())
    }
}

/// The HTTP method and path of a rule.
pub fn binding(rule: &HttpRule) -> Option<(Method, &str)> {
    Some(match rule.pattern.as_ref()? {
        Pattern::Get(p) => (Method::GET, p),
        Pattern::Put(p) => (Method::PUT, p),
        Pattern::Post(p) => (Method::POST, p),
        Pattern::Delete(p) => (Method::DELETE, p),
        Pattern::Patch(p) => (Method::PATCH, p),
        Pattern::Custom(c) => (c.kind.parse().ok()?, &c.path),
    })
}

/// The `google.api.http` rule and `paymesh.rest.v1.method` of an RPC.
pub fn rules(method: &MethodDescriptor) -> (Option<HttpRule>, ann::Method) {
    let options = method.options();
    (
        extension(&options, "google.api.http"),
        extension(&options, "paymesh.rest.v1.method").unwrap_or_default(),
    )
}

/// The comment of an RPC.
pub fn method_doc(method: &MethodDescriptor) -> String {
    comment(method.parent_file().file_descriptor_proto(), method.path())
}

/// The comment of a message.
pub fn message_doc(message: &MessageDescriptor) -> String {
    comment(message.parent_file_descriptor_proto(), message.path())
}
