//! The query compiler against a real PostgreSQL: every emitted statement
//! must run, and mean what the query language says.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_kit::{
    auth::Scope,
    config::ListLimits,
    query::{self, Column, ColumnType, Resource, Shape},
    testing::TestDatabase,
};
use paymesh_proto::common::v1::{
    Aggregate, AggregateFunction, Condition, FieldRef, Filter, ListQuery, Operator, OrderBy, ScalarFunction,
};
use serde_json::{Value, json};
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};
use uuid::Uuid;

const STATUSES: &[&str] = &["authorized", "processed", "declined"];

static PAYMENTS: Resource = Resource {
    name: "payment",
    table: "payments",
    select: "id, ref",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "ref", sql: "ref", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "attempts", sql: "attempts", ty: ColumnType::Integer },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(STATUSES) },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "captured", sql: "captured", ty: ColumnType::Bool },
        Column { name: "due_date", sql: "due_date", ty: ColumnType::Date },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: false,
};

struct Fixture {
    conn: PgConnection,
    scope: Scope,
    _db: TestDatabase,
}

/// Rows: (ref, amount, attempts, status, description, captured, due, created, attrs).
async fn fixture() -> Fixture {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    conn.execute(
        "CREATE TABLE payments (
            id uuid PRIMARY KEY, partner_id uuid NOT NULL, livemode boolean NOT NULL,
            ref text NOT NULL, amount numeric(20,4) NOT NULL, attempts bigint NOT NULL,
            status text NOT NULL, description text, captured boolean NOT NULL,
            due_date date NOT NULL, created_at timestamptz NOT NULL,
            attrs jsonb NOT NULL DEFAULT '{}', deleted_at timestamptz)",
    )
    .await
    .unwrap();
    let scope = Scope { partner_id: Uuid::now_v7(), livemode: false };
    let rows = [
        (
            "p1",
            "50.00",
            1,
            "processed",
            Some("INV - 401"),
            true,
            "2019-02-01",
            "2019-01-31T23:30:00Z",
            json!({"plan": "gold", "meta": {"tier": "a"}}),
        ),
        (
            "p2",
            "150.25",
            2,
            "processed",
            Some("INV - 402"),
            true,
            "2019-02-15",
            "2019-02-01T08:00:00Z",
            json!({"plan": "free"}),
        ),
        (
            "p3",
            "199.99",
            1,
            "declined",
            None,
            false,
            "2019-03-10",
            "2019-03-03T12:00:00Z",
            json!({"plan": "gold", "meta": {"tier": "b"}}),
        ),
        (
            "p4",
            "250.00",
            3,
            "authorized",
            Some("100% off_promo"),
            false,
            "2020-02-29",
            "2020-02-29T16:45:30Z",
            json!({}),
        ),
        (
            "p5",
            "-20.005",
            1,
            "processed",
            Some("refund adj"),
            true,
            "2019-12-31",
            "2019-12-31T23:59:59Z",
            json!({"plan": "gold"}),
        ),
    ];
    for (i, (r, amount, attempts, status, description, captured, due, created, attrs)) in
        rows.into_iter().enumerate()
    {
        sqlx::query(
            "INSERT INTO payments (id, partner_id, livemode, ref, amount, attempts, status, description, captured, due_date, created_at, attrs)
             VALUES ($1, $2, false, $3, $4::numeric, $5, $6, $7, $8, $9::date, $10::timestamptz, $11)",
        )
        .bind(Uuid::from_u128(i as u128 + 1))
        .bind(scope.partner_id)
        .bind(r)
        .bind(amount)
        .bind(attempts)
        .bind(status)
        .bind(description)
        .bind(captured)
        .bind(due)
        .bind(created)
        .bind(attrs)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // Rows no query of `scope` may ever see: another partner, the other
    // mode, and a deleted row.
    for (partner, livemode, deleted) in
        [(Uuid::now_v7(), false, false), (scope.partner_id, true, false), (scope.partner_id, false, true)]
    {
        sqlx::query(
            "INSERT INTO payments (id, partner_id, livemode, ref, amount, attempts, status, captured, due_date, created_at, deleted_at)
             VALUES ($1, $2, $3, 'hidden', 175, 1, 'processed', true, '2019-02-02', '2019-02-02T00:00:00Z',
                     CASE WHEN $4 THEN now() END)",
        )
        .bind(Uuid::now_v7())
        .bind(partner)
        .bind(livemode)
        .bind(deleted)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    Fixture { conn, scope, _db: db }
}

fn field(path: &[&str]) -> FieldRef {
    FieldRef { path: path.iter().map(|s| (*s).to_owned()).collect(), function: 0 }
}

fn func(function: ScalarFunction, path: &[&str]) -> FieldRef {
    FieldRef { function: function as i32, ..field(path) }
}

fn filter(on: FieldRef, conditions: &[(Operator, &str)]) -> Filter {
    Filter {
        field: Some(on),
        any_of: conditions
            .iter()
            .map(|(op, v)| Condition { operator: *op as i32, value: (*v).to_owned() })
            .collect(),
    }
}

fn agg(function: AggregateFunction, path: &[&str]) -> Aggregate {
    Aggregate { function: function as i32, field: Some(field(path)) }
}

impl Fixture {
    /// The refs of the objects a query returns, in order.
    async fn refs(&mut self, query: ListQuery) -> Vec<String> {
        let mut select = query::select(&PAYMENTS, self.scope, &query, ListLimits::default()).unwrap();
        let rows = select.builder.build().fetch_all(&mut self.conn).await.unwrap();
        rows.iter().map(|r| r.get::<String, _>("ref")).collect()
    }

    /// Refs with the computed fields of each.
    async fn computed(&mut self, query: ListQuery) -> Vec<(String, Value)> {
        let mut select = query::select(&PAYMENTS, self.scope, &query, ListLimits::default()).unwrap();
        let rows = select.builder.build().fetch_all(&mut self.conn).await.unwrap();
        rows.iter()
            .map(|r| (r.get::<String, _>("ref"), Value::Object(select.shape.read_extras(r).unwrap())))
            .collect()
    }

    async fn groups(&mut self, query: ListQuery) -> Vec<Value> {
        let mut select = query::select(&PAYMENTS, self.scope, &query, ListLimits::default()).unwrap();
        assert!(matches!(select.shape, Shape::Groups { .. }));
        let rows = select.builder.build().fetch_all(&mut self.conn).await.unwrap();
        rows.iter().map(|r| Value::Object(select.shape.read_extras(r).unwrap())).collect()
    }
}

fn ordered(filters: Vec<Filter>) -> ListQuery {
    ListQuery {
        filters,
        order_by: vec![OrderBy { field: Some(field(&["ref"])), descending: false }],
        ..ListQuery::default()
    }
}

#[tokio::test]
async fn comparisons_and_alternatives_select_the_right_rows() {
    let mut f = fixture().await;
    assert_eq!(f.refs(ordered(vec![])).await, ["p1", "p2", "p3", "p4", "p5"], "scope and soft delete");
    let between = vec![
        filter(field(&["amount"]), &[(Operator::GreaterThan, "100")]),
        filter(field(&["amount"]), &[(Operator::LessThan, "200")]),
    ];
    assert_eq!(f.refs(ordered(between)).await, ["p2", "p3"]);
    let or =
        vec![filter(field(&["amount"]), &[(Operator::LessThan, "0"), (Operator::GreaterThanOrEqual, "250")])];
    assert_eq!(f.refs(ordered(or)).await, ["p4", "p5"]);
    let status =
        vec![filter(field(&["status"]), &[(Operator::Equal, "declined"), (Operator::Equal, "authorized")])];
    assert_eq!(f.refs(ordered(status)).await, ["p3", "p4"]);
    let not_null_safe = vec![filter(field(&["description"]), &[(Operator::NotEqual, "INV - 401")])];
    assert_eq!(
        f.refs(ordered(not_null_safe)).await,
        ["p2", "p3", "p4", "p5"],
        "NULL is not equal to a value"
    );
    let exact = vec![filter(field(&["amount"]), &[(Operator::Equal, "-20.005")])];
    assert_eq!(f.refs(ordered(exact)).await, ["p5"], "decimals compare exactly");
    let captured = vec![filter(field(&["captured"]), &[(Operator::Equal, "false")])];
    assert_eq!(f.refs(ordered(captured)).await, ["p3", "p4"]);
    let due = vec![filter(field(&["due_date"]), &[(Operator::LessThanOrEqual, "2019-02-15")])];
    assert_eq!(f.refs(ordered(due)).await, ["p1", "p2"]);
    let since = vec![filter(field(&["created_at"]), &[(Operator::GreaterThanOrEqual, "2019-02-01")])];
    assert_eq!(f.refs(ordered(since)).await, ["p2", "p3", "p4", "p5"]);
    let precise = vec![filter(field(&["created_at"]), &[(Operator::Equal, "2019-01-31 23:30:00")])];
    assert_eq!(f.refs(ordered(precise)).await, ["p1"]);
    let attempts = vec![filter(field(&["attempts"]), &[(Operator::GreaterThan, "1")])];
    assert_eq!(f.refs(ordered(attempts)).await, ["p2", "p4"]);
}

#[tokio::test]
async fn like_matches_case_insensitively_and_literally() {
    let mut f = fixture().await;
    let contains = vec![filter(field(&["description"]), &[(Operator::Like, "*inv -*")])];
    assert_eq!(f.refs(ordered(contains)).await, ["p1", "p2"]);
    // `%` and `_` in the value are literal, not SQL wildcards.
    let literal = vec![filter(field(&["description"]), &[(Operator::Like, "100% off_*")])];
    assert_eq!(f.refs(ordered(literal)).await, ["p4"]);
    let not_wild = vec![filter(field(&["description"]), &[(Operator::Like, "%")])];
    assert!(f.refs(ordered(not_wild)).await.is_empty());
    let hostile = vec![filter(field(&["description"]), &[(Operator::Equal, "x' OR '1'='1")])];
    assert!(f.refs(ordered(hostile)).await.is_empty());
}

#[tokio::test]
async fn custom_attributes_filter_by_nested_keys() {
    let mut f = fixture().await;
    let gold = vec![filter(field(&["attrs", "plan"]), &[(Operator::Equal, "gold")])];
    assert_eq!(f.refs(ordered(gold)).await, ["p1", "p3", "p5"]);
    let tier = vec![filter(field(&["attrs", "meta", "tier"]), &[(Operator::Equal, "b")])];
    assert_eq!(f.refs(ordered(tier)).await, ["p3"]);
    let hostile_key = vec![filter(field(&["attrs", "plan}'; --"]), &[(Operator::Equal, "gold")])];
    assert!(f.refs(ordered(hostile_key)).await.is_empty());
}

#[tokio::test]
async fn date_functions_work_in_utc() {
    let mut f = fixture().await;
    let in_2019 = vec![filter(func(ScalarFunction::Year, &["created_at"]), &[(Operator::Equal, "2019")])];
    assert_eq!(f.refs(ordered(in_2019)).await, ["p1", "p2", "p3", "p5"]);
    let january = vec![filter(func(ScalarFunction::Month, &["created_at"]), &[(Operator::Equal, "1")])];
    assert_eq!(f.refs(ordered(january)).await, ["p1"], "23:30 UTC stays in January");
    let on_date =
        vec![filter(func(ScalarFunction::Date, &["created_at"]), &[(Operator::NotEqual, "2019-02-01")])];
    assert_eq!(f.refs(ordered(on_date)).await, ["p1", "p3", "p4", "p5"]);

    let query = ListQuery {
        fields: vec![
            func(ScalarFunction::Monthname, &["created_at"]),
            func(ScalarFunction::Dayname, &["created_at"]),
            func(ScalarFunction::Dayofweek, &["created_at"]),
            func(ScalarFunction::Dayofyear, &["created_at"]),
            func(ScalarFunction::Weekofyear, &["created_at"]),
            func(ScalarFunction::Hour, &["created_at"]),
            func(ScalarFunction::Minute, &["created_at"]),
            func(ScalarFunction::Second, &["created_at"]),
            func(ScalarFunction::UnixTimestamp, &["created_at"]),
            func(ScalarFunction::LastDay, &["due_date"]),
            func(ScalarFunction::Day, &["due_date"]),
        ],
        ..ordered(vec![filter(field(&["ref"]), &[(Operator::Equal, "p4")])])
    };
    let (_, computed) = f.computed(query).await.remove(0);
    assert_eq!(
        computed,
        json!({
            "monthname(created_at)": "February",
            "dayname(created_at)": "Saturday",
            "dayofweek(created_at)": 7,
            "dayofyear(created_at)": 60,
            "weekofyear(created_at)": 9,
            "hour(created_at)": 16,
            "minute(created_at)": 45,
            "second(created_at)": 30,
            "unix_timestamp(created_at)": 1_582_994_730,
            "last_day(due_date)": "2020-02-29",
            "day(due_date)": 29,
        })
    );
}

#[tokio::test]
async fn text_and_number_functions_compute() {
    let mut f = fixture().await;
    let query = ListQuery {
        fields: vec![
            field(&["*"]),
            func(ScalarFunction::Upper, &["status"]),
            func(ScalarFunction::Length, &["description"]),
            func(ScalarFunction::Round, &["amount"]),
            func(ScalarFunction::Abs, &["amount"]),
            func(ScalarFunction::Ceil, &["amount"]),
            func(ScalarFunction::Floor, &["amount"]),
        ],
        ..ordered(vec![filter(field(&["ref"]), &[(Operator::Equal, "p5"), (Operator::Equal, "p3")])])
    };
    assert_eq!(
        f.computed(query).await,
        [
            (
                "p3".to_owned(),
                json!({"upper(status)": "DECLINED", "length(description)": null, "round(amount)": 200, "abs(amount)": 199.99, "ceil(amount)": 200, "floor(amount)": 199})
            ),
            (
                "p5".to_owned(),
                json!({"upper(status)": "PROCESSED", "length(description)": 10, "round(amount)": -20, "abs(amount)": 20.005, "ceil(amount)": -20, "floor(amount)": -21})
            ),
        ]
    );
    let short = vec![filter(func(ScalarFunction::Length, &["description"]), &[(Operator::LessThan, "10")])];
    assert_eq!(f.refs(ordered(short)).await, ["p1", "p2"]);
    let lower =
        vec![filter(func(ScalarFunction::Lower, &["description"]), &[(Operator::Equal, "inv - 402")])];
    assert_eq!(f.refs(ordered(lower)).await, ["p2"]);
}

#[tokio::test]
async fn aggregates_fold_groups_exactly() {
    let mut f = fixture().await;
    let by_status = ListQuery {
        group_by: vec![field(&["status"])],
        aggregates: vec![
            agg(AggregateFunction::Sum, &["amount"]),
            agg(AggregateFunction::Count, &["id"]),
            agg(AggregateFunction::Max, &["created_at"]),
            agg(AggregateFunction::Avg, &["attempts"]),
        ],
        ..ListQuery::default()
    };
    assert_eq!(
        f.groups(by_status).await,
        [
            json!({"status": "authorized", "sum(amount)": 250, "count(id)": 1, "max(created_at)": "2020-02-29T16:45:30Z", "avg(attempts)": 3}),
            json!({"status": "declined", "sum(amount)": 199.99, "count(id)": 1, "max(created_at)": "2019-03-03T12:00:00Z", "avg(attempts)": 1}),
            json!({"status": "processed", "sum(amount)": 180.245, "count(id)": 3, "max(created_at)": "2019-12-31T23:59:59Z", "avg(attempts)": 1.333333}),
        ]
    );
    let totals = ListQuery {
        aggregates: vec![
            agg(AggregateFunction::Sum, &["amount"]),
            agg(AggregateFunction::Min, &["amount"]),
            agg(AggregateFunction::CountDistinct, &["status"]),
            agg(AggregateFunction::Variance, &["attempts"]),
            agg(AggregateFunction::Stddev, &["attempts"]),
        ],
        ..ListQuery::default()
    };
    assert_eq!(
        f.groups(totals).await,
        [
            json!({"sum(amount)": 630.235, "min(amount)": -20.005, "count_distinct(status)": 3, "variance(attempts)": 0.8, "stddev(attempts)": 0.894427})
        ]
    );
    let by_year = ListQuery {
        group_by: vec![func(ScalarFunction::Year, &["created_at"]), field(&["attrs", "plan"])],
        aggregates: vec![agg(AggregateFunction::Count, &["id"])],
        order_by: vec![OrderBy {
            field: Some(func(ScalarFunction::Year, &["created_at"])),
            descending: true,
        }],
        ..ListQuery::default()
    };
    assert_eq!(
        f.groups(by_year).await,
        [
            json!({"year(created_at)": 2020, "attrs[plan]": null, "count(id)": 1}),
            json!({"year(created_at)": 2019, "attrs[plan]": "free", "count(id)": 1}),
            json!({"year(created_at)": 2019, "attrs[plan]": "gold", "count(id)": 3}),
        ]
    );
}

#[tokio::test]
async fn paging_is_stable_and_updates_by_query_are_scoped() {
    let mut f = fixture().await;
    let page = |offset| ListQuery {
        order_by: vec![OrderBy { field: Some(field(&["status"])), descending: false }],
        limit: 2,
        offset,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        seen.extend(f.refs(page(offset)).await);
    }
    assert_eq!(seen, ["p4", "p3", "p1", "p2", "p5"], "ties on status broken by id");

    let mut update = sqlx::QueryBuilder::new("UPDATE payments SET description = 'batched'");
    query::push_filters(
        &mut update,
        &PAYMENTS,
        f.scope,
        &[filter(field(&["status"]), &[(Operator::Equal, "processed")])],
    )
    .unwrap();
    let changed = update.build().execute(&mut f.conn).await.unwrap().rows_affected();
    assert_eq!(changed, 3, "only this partner's live-mode rows, not the hidden ones");
}
