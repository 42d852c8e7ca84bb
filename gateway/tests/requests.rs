//! The request readers: form bodies as Payload's curl examples send them,
//! list bodies, and the query language of every list.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_gateway::{
    body::{MAX_FORM_DEPTH, MAX_FORM_FIELDS, RequestBody, Shape, form_to_json},
    query::{ListParams, parse},
};
use paymesh_proto::common::v1::{AggregateFunction, Operator, ScalarFunction};
use serde_json::{Value, json};

#[test]
fn form_fields_nest_like_payloads_curl_examples() {
    let body =
        form_to_json(b"email=matt.perez%40example.com&full_name=Matt+Perez&attrs[custom]=data").unwrap();
    assert_eq!(
        body,
        json!({"email": "matt.perez@example.com", "full_name": "Matt Perez", "attrs": {"custom": "data"}})
    );
}

#[test]
fn indexed_form_fields_make_a_bulk_list() {
    let body = form_to_json(b"[0]email=a%40x.com&[0]type=customer&[1][email]=b%40x.com").unwrap();
    assert_eq!(
        body,
        json!({"object": "list", "values": [{"email": "a@x.com", "type": "customer"}, {"email": "b@x.com"}]})
    );
}

#[test]
fn deep_or_numerous_form_fields_are_refused_not_recursed() {
    let deep = format!("a{}=1", "[x]".repeat(100_000));
    assert!(form_to_json(deep.as_bytes()).is_err());
    let ok = format!("a{}=1", "[x]".repeat(MAX_FORM_DEPTH - 1));
    assert!(form_to_json(ok.as_bytes()).is_ok());
    let many: Vec<String> = (0..=MAX_FORM_FIELDS).map(|i| format!("f{i}=1")).collect();
    assert!(form_to_json(many.join("&").as_bytes()).is_err());
}

#[test]
fn malformed_form_fields_are_refused() {
    for bad in [&b"a[b=1"[..], b"a[]=1", b"[0]=1&[0]x=2", b"a=1&a[b]=2"] {
        assert!(form_to_json(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn list_bodies_are_recognised() {
    let list = RequestBody(Some(json!({"object": "list", "values": [{"a": 1}]}))).shape().unwrap();
    assert_eq!(list, Shape::List(vec![json!({"a": 1})]));
    assert!(RequestBody(Some(json!([1, 2]))).shape().is_err());
    assert!(RequestBody(Some(json!("x"))).shape().is_err());
    assert!(RequestBody(None).shape().is_err());
    assert!(RequestBody(Some(json!({"object": "list", "values": [], "extra": 1}))).shape().is_err());
}

fn conditions(params: &ListParams, i: usize) -> Vec<(Operator, String)> {
    params.query.filters[i]
        .any_of
        .iter()
        .map(|c| (Operator::try_from(c.operator).unwrap(), c.value.clone()))
        .collect()
}

fn details(raw: &str) -> Value {
    let error = parse(Some(raw)).unwrap_err();
    let response = axum::response::IntoResponse::into_response(error);
    assert_eq!(response.status(), 400);
    let body = futures_body(response);
    body["details"].clone()
}

fn futures_body(response: axum::response::Response) -> Value {
    let bytes = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_seed_operators_parse() {
    let params = parse(Some(
        "type=payment&amount=%3E100&amount=%3C200&risk_status=denied|in_review&description=%3F*INV%20-*&status=!voided&amount=%3C%3D5%7C%3E%3D9",
    ))
    .unwrap();
    assert_eq!(conditions(&params, 0), [(Operator::Equal, "payment".to_owned())]);
    assert_eq!(conditions(&params, 1), [(Operator::GreaterThan, "100".to_owned())]);
    assert_eq!(conditions(&params, 2), [(Operator::LessThan, "200".to_owned())]);
    assert_eq!(
        conditions(&params, 3),
        [(Operator::Equal, "denied".to_owned()), (Operator::Equal, "in_review".to_owned())]
    );
    assert_eq!(conditions(&params, 4), [(Operator::Like, "*INV -*".to_owned())]);
    assert_eq!(conditions(&params, 5), [(Operator::NotEqual, "voided".to_owned())]);
    assert_eq!(
        conditions(&params, 6),
        [(Operator::LessThanOrEqual, "5".to_owned()), (Operator::GreaterThanOrEqual, "9".to_owned())]
    );
}

#[test]
fn nested_attributes_and_functions_parse() {
    let params = parse(Some("processing[status]=active&attrs[meta][tier]=a&year(created_at)=2019")).unwrap();
    let fields: Vec<_> = params.query.filters.iter().map(|f| f.field.clone().unwrap()).collect();
    assert_eq!(fields[0].path, ["processing", "status"]);
    assert_eq!(fields[1].path, ["attrs", "meta", "tier"]);
    assert_eq!(fields[2].path, ["created_at"]);
    assert_eq!(fields[2].function, ScalarFunction::Year as i32);
}

#[test]
fn paging_ordering_and_fields_parse_in_every_spelling() {
    let params = parse(Some(
        "limit=5&offset=15&order_by=created_at&order_by[1]=desc(amount)&order_by[]=-name\
         &fields[0]=*&fields[1]=lower(email)&fields=sum(amount),status&group_by[]=status",
    ))
    .unwrap();
    assert_eq!((params.query.limit, params.query.offset), (5, 15));
    let orders: Vec<_> = params
        .query
        .order_by
        .iter()
        .map(|o| (o.field.clone().unwrap().path[0].clone(), o.descending))
        .collect();
    assert_eq!(
        orders,
        [("created_at".to_owned(), false), ("amount".to_owned(), true), ("name".to_owned(), true)]
    );
    assert_eq!(params.query.fields.len(), 3);
    assert_eq!(params.query.aggregates.len(), 1);
    assert_eq!(params.query.aggregates[0].function, AggregateFunction::Sum as i32);
    assert_eq!(params.query.group_by[0].path, ["status"]);
}

#[test]
fn hostile_parameters_get_a_clear_error() {
    assert_eq!(
        details("order_by=name%3Bdrop%20table&fields=evil(name)&limit=-1&mode=all&sum(amount)=5&fields[x]=1"),
        json!({
            "name;drop table": "Malformed attribute",
            "evil(name)": "Unknown function evil()",
            "limit": "Must be a whole number",
            "mode": "The only mode is `query`",
            "sum(amount)": "Aggregates cannot be used in filters",
            "fields[x]": "Malformed parameter name",
        })
    );
}

#[test]
fn quotes_and_semicolons_stay_values() {
    let params = parse(Some("name=%27%3B%20DROP%20TABLE%20accounts%3B%20--")).unwrap();
    assert_eq!(conditions(&params, 0), [(Operator::Equal, "'; DROP TABLE accounts; --".to_owned())]);
}

#[test]
fn projection_selects_and_computes() {
    let params = parse(Some("fields=email,attrs[plan],lower(name)")).unwrap();
    let object = json!({"id": "1", "email": "a@x.com", "name": "A", "attrs": {"plan": "gold", "x": 1}});
    let Value::Object(object) = object else { unreachable!() };
    let computed = json!({"lower(name)": "a"}).as_object().unwrap().clone();
    assert_eq!(
        Value::Object(params.projection.apply(object.clone(), Some(computed), &[])),
        json!({"id": "1", "email": "a@x.com", "attrs": {"plan": "gold"}, "lower(name)": "a"})
    );
    let all = parse(Some("fields=*")).unwrap();
    assert_eq!(all.projection.apply(object.clone(), None, &[]), object);
}

#[test]
fn non_default_attributes_show_only_when_named() {
    let object = json!({"id": "1", "object": "transaction", "amount": 5, "ledger": [{"amount": 5}]});
    let Value::Object(object) = object else { unreachable!() };
    let shown = |raw: &str| {
        let params = parse(Some(raw)).unwrap();
        Value::Object(params.projection.apply(object.clone(), None, &["ledger"]))
    };
    let defaults = json!({"id": "1", "object": "transaction", "amount": 5});
    assert_eq!(shown(""), defaults);
    assert_eq!(shown("fields=*"), defaults);
    assert_eq!(shown("fields=*,ledger"), Value::Object(object.clone()));
    assert_eq!(
        shown("fields=ledger"),
        json!({"id": "1", "object": "transaction", "ledger": [{"amount": 5}]})
    );
}

#[test]
fn mutations_by_query_need_the_callers_own_filter() {
    assert!(parse(Some("mode=query")).unwrap().mutation_filters().is_err());
    assert_eq!(parse(Some("mode=query&email=a")).unwrap().mutation_filters().unwrap().len(), 1);
}
