//! The API document's own examples, with the masked numbers replaced, pass through the sandbox
//! and come back with every documented field.

use payroll::sandbox::numbers;
use payroll::sandbox::testing::TestSandbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{get, message, post};

/// The response of "Sending money to one Djamo client", as published.
const SINGLE_RESPONSE: &str = r#"{
"id": "txn_2cdc8ab1-6d50-49cc-ba14-54e4ac7ec231",
"createdAt": "2023-05-25T17:43:15.970Z",
"updatedAt": "2023-05-25T17:43:15.970Z",
"amount": 500000,
"fee": 5000,
"totalAmount": 505000,
"status": "pending",
"msisdn": "+22507XXXXXX00",
"reference": "17f99xApUe472A",
"description": "Prime de juin",
"type": "transfer"
}"#;

/// The request of "Sending money to multiple Djamo clients", as published.
const BATCH_REQUEST: &str = r#"{
"transactions": [
{
"msisdn": "+22507XXXXXX00",
"amount": 500000,
"reference": "17f99xApUe472A",
"description": "Prime de juin"
},
{
"msisdn": "+22507XXXXXX01",
"amount": 550000,
"reference": "12E94bDeOP209T",
"description": "Prime de juin"
}
]
}"#;

/// Its response, as published.
const BATCH_RESPONSE: &str = r#"{
"id": "bat_27fb25f4-3246-44c9-9f30-f0df3d9188cf",
"createdAt": "2023-03-16T22:01:11.070Z",
"updatedAt": "2023-03-16T22:01:11.269Z",
"totalAmount": 8300,
"status": "processing",
"totalFee": 5,
"transactions": [
{
"id": "txn_2cdc8ab1-6d50-49cc-ba14-54e4ac7ec231",
"createdAt": "2023-11-24T17:43:15.970Z",
"updatedAt": "2023-11-24T17:43:15.970Z",
"amount": 500000,
"fee": 5000,
"totalAmount": 505000,
"status": "pending",
"msisdn": "+22507XXXXXX00",
"reference": "17f99xApUe472A",
"description": "Prime de juin",
"type": "transfer"
}
]
}"#;

/// The response of "Retrieving a transaction by ID", as published.
const GET_RESPONSE: &str = r#"{
"id": "txn_fbf960c4-294b-43cd-99a4-920b61efb17d",
"createdAt": "2023-11-24T17:43:15.970Z",
"updatedAt": "2023-11-24T17:43:16.970Z",
"amount": 5000,
"fee": 50,
"totalAmount": 5050,
"status": "completed",
"msisdn": "+225079932203",
"reference": "17f9956f-0965-4964-b2c1-40b4fef141a7",
"failureReason": null,
"description": "July's salary",
"type": "transfer",
"batchId": "17f9956f-0965-4964-b2c1-40b4fef141a7"
}"#;

/// The response of "Retrieving transactions by reference", as published.
const PAGE_RESPONSE: &str = r#"{
"count": 1,
"limit": 15,
"cursor": {
"prev": null,
"next": null
},
"data": [
{
"id": "txn_79ccf5fe-578e-4ae8-bf0c-a9cee365a9f3",
"createdAt": "2026-04-27T11:16:47.103Z",
"updatedAt": "2026-04-27T11:16:47.515Z",
"amount": 500,
"fee": 0,
"totalAmount": 500,
"status": "failed",
"msisdn": "2250700888830",
"reference": "197",
"failureReason": "TRANSACTION_AMOUNT_OVER_ACCOUNT_LIMIT",
"description": "Test transfert",
"type": "api-transfer"
}
]
}"#;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the example is JSON")
}

/// Every key of `example` is in `actual`, recursively (arrays: the first item of each).
fn assert_has_fields(example: &Value, actual: &Value, at: &str) {
    match (example, actual) {
        (Value::Object(expected), Value::Object(got)) => {
            for (key, value) in expected {
                let Some(found) = got.get(key) else {
                    panic!("`{at}.{key}` is missing from {actual}");
                };
                assert_has_fields(value, found, &format!("{at}.{key}"));
            }
        }
        (Value::Array(expected), Value::Array(got)) => {
            if let (Some(e), Some(g)) = (expected.first(), got.first()) {
                assert_has_fields(e, g, &format!("{at}[0]"));
            }
        }
        (Value::Object(_) | Value::Array(_), other) => {
            panic!("`{at}` should be an object or array, got {other}")
        }
        _ => {}
    }
}

fn unmask(text: &str) -> String {
    text.replace("+22507XXXXXX00", "+2250747000000")
        .replace("+22507XXXXXX01", "+2250747000001")
}

/// The single-transfer example: same amounts, fee and fields.
#[tokio::test]
async fn single_transfer_example() {
    let sandbox = TestSandbox::start().await;
    let request = json!({
        "msisdn": "+2250747000000",
        "amount": 500000,
        "reference": "17f99xApUe472A",
        "description": "Prime de juin",
        "type": "transfer"
    });
    let (status, body) = post(&sandbox, "/v1/transactions", request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let example = parse(SINGLE_RESPONSE);
    assert_has_fields(&example, &body, "");
    for key in [
        "amount",
        "fee",
        "totalAmount",
        "status",
        "reference",
        "description",
        "type",
    ] {
        assert_eq!(body[key], example[key], "{key}");
    }
    assert_eq!(
        body["msisdn"], "2250747000000",
        "stored in canonical digits"
    );
}

/// The batch example as published asks for 550 000, above the documented 500 000 maximum, so
/// it is refused naming the item; with the 430 000 of the response example it passes.
#[tokio::test]
async fn batch_example() {
    let sandbox = TestSandbox::start().await;
    let published = parse(&unmask(BATCH_REQUEST));
    let (status, body) = post(&sandbox, "/v1/transactions/batch", published.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).contains("`transactions[1].amount`"),
        "{body}"
    );

    let mut fixed = published;
    fixed["transactions"][1]["amount"] = json!(430000);
    let (status, body) = post(&sandbox, "/v1/transactions/batch", fixed).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_has_fields(&parse(BATCH_RESPONSE), &body, "");
    assert_eq!(body["status"], "processing");
    assert_eq!(body["transactions"][0]["fee"], 5000);
    assert_eq!(body["transactions"][1]["fee"], 4300);
    assert_eq!(body["transactions"][1]["totalAmount"], 434300);
    assert_eq!(body["totalFee"], 9300);
    assert_eq!(body["totalAmount"], 505000 + 434300);
}

/// The get-by-id example: a settled transaction from a batch has every field, `failureReason`
/// null and `batchId` set.
#[tokio::test]
async fn get_by_id_example() {
    let sandbox = TestSandbox::start().await;
    let (_, batch) = post(
        &sandbox,
        "/v1/transactions/batch",
        json!({"transactions": [{
            "msisdn": numbers::COMPLETES,
            "amount": 5000,
            "reference": "17f9956f-0965-4964-b2c1-40b4fef141a7",
            "description": "July's salary"
        }]}),
    )
    .await;
    sandbox.wait_settled().await;
    let id = batch["transactions"][0]["id"].as_str().expect("id");
    let (status, body) = get(&sandbox, &format!("/v1/transactions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let example = parse(GET_RESPONSE);
    assert_has_fields(&example, &body, "");
    for key in [
        "amount",
        "fee",
        "totalAmount",
        "status",
        "failureReason",
        "description",
        "type",
    ] {
        assert_eq!(body[key], example[key], "{key}");
    }
    assert_eq!(body["batchId"], batch["id"]);
}

/// The by-reference example: a failed transfer over the account limit, in the page shape.
#[tokio::test]
async fn by_reference_example() {
    let sandbox = TestSandbox::start().await;
    let (status, _) = post(
        &sandbox,
        "/v1/transactions",
        json!({
            "msisdn": numbers::LIMITED_CUSTOMER,
            "amount": 150000,
            "reference": "197",
            "description": "Test transfert",
            "type": "transfer"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    sandbox.wait_settled().await;
    let (status, body) = get(&sandbox, "/v1/transactions?reference=197").await;
    assert_eq!(status, StatusCode::OK);
    let example = parse(PAGE_RESPONSE);
    assert_has_fields(&example, &body, "");
    assert_eq!(body["count"], example["count"]);
    assert_eq!(body["limit"], example["limit"]);
    assert_eq!(body["cursor"], example["cursor"]);
    let item = &body["data"][0];
    for key in ["status", "reference", "failureReason", "description"] {
        assert_eq!(item[key], example["data"][0][key], "{key}");
    }
}
