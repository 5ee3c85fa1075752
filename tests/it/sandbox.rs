//! Integration tests: the sandbox over real HTTP, one file per topic.

mod api;
mod cli;
mod customers;
mod durability;
mod examples;
mod faults;

use payroll::djamo::wire::ErrorBody;
use payroll::sandbox::testing::TestSandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub async fn post(sandbox: &TestSandbox, path: &str, body: Value) -> (StatusCode, Value) {
    let response = sandbox
        .request(Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn get(sandbox: &TestSandbox, path: &str) -> (StatusCode, Value) {
    let response = sandbox
        .request(Method::GET, path)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn transfer(msisdn: &str, amount: u64, reference: &str) -> Value {
    json!({"msisdn": msisdn, "amount": amount, "reference": reference, "type": "transfer"})
}

pub fn message(body: &Value) -> String {
    let error: ErrorBody = serde_json::from_value(body.clone()).expect("error body");
    error.message
}
