//! Plan rendering: text for a terminal, Markdown for a pull-request comment, JSON for machines.

use std::collections::BTreeMap;

use payroll::money::{Amount, FeeRate};
use payroll::plan::render;
use payroll::plan::{Action, Orphan, Plan, PlanItem, Summary};

/// Returns the insta settings shared by every snapshot: snapshots live in `tests/snapshots`, and ports,
/// times, temporary paths and digests are replaced by placeholders.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[DIGEST]");
    settings.add_filter(r"(127\.0\.0\.1|localhost|\[::1\]):\d+", "$1:[PORT]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    );
    settings.add_filter(r"(/private)?/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    settings
}

fn item(id: &str, name: &str, amount: u64, action: Action, reason: &str, status: &str) -> PlanItem {
    let amount = Amount(amount);
    let fee = if action.sends() {
        FeeRate::DEFAULT.fee(amount)
    } else {
        Amount(0)
    };
    PlanItem {
        id: id.to_owned(),
        name: name.to_owned(),
        msisdn: "2250747000000".to_owned(),
        amount,
        fee,
        reference: format!("sal-2026-12-{id}"),
        description: Some("Salaire 2026-12".to_owned()),
        action,
        reason: reason.to_owned(),
        status: status.to_owned(),
        retry_of: None,
        transaction_id: None,
    }
}

/// Builds a plan with one item of every action, a warning and an orphan, as `plan` would build it.
pub fn sample_plan() -> Plan {
    let mut retry = item(
        "E004",
        "Mariam Traoré",
        120_000,
        Action::Retry,
        "failed before: `insufficient KYC`; sent again under a new reference",
        "failed",
    );
    retry.retry_of = Some("sal-2026-12-E004".to_owned());
    retry.reference = "sal-2026-12-E004-r1".to_owned();
    let mut paid = item(
        "E002",
        "Koffi Yao",
        275_000,
        Action::None,
        "already paid",
        "completed",
    );
    paid.transaction_id = Some("tx-0002".to_owned());
    let items = vec![
        item(
            "E001",
            "Awa Kone",
            350_000,
            Action::Pay,
            "new payment",
            "new",
        ),
        paid,
        item(
            "E003",
            "Yao | N'Guessan <b>",
            90_000,
            Action::Wait,
            "pending at the provider",
            "pending",
        ),
        retry,
        item(
            "E005",
            "Aya Bamba",
            500_000,
            Action::Skip,
            "KYC `pending`; skipped (`on_kyc_failure: skip`)",
            "new",
        ),
    ];
    let amount: Amount = items
        .iter()
        .filter(|i| i.action.sends())
        .map(|i| i.amount)
        .sum();
    let fees: Amount = items
        .iter()
        .filter(|i| i.action.sends())
        .map(|i| i.fee)
        .sum();
    let total = Amount(amount.0 + fees.0);
    let balance = Amount(10_000_000);
    Plan {
        job: "salaries".to_owned(),
        period: "2026-12".to_owned(),
        summary: Summary {
            to_pay: 2,
            already_paid: 1,
            in_progress: 1,
            blocked: 0,
            skipped: 1,
            failed: 1,
            amount,
            fees,
            total,
            balance,
            balance_after: balance.saturating_sub(total),
        },
        blockers: vec![],
        warnings: vec!["recipient `E005` skipped: KYC status `pending`".to_owned()],
        items,
        orphans: vec![Orphan {
            reference: "sal-2026-12-E009".to_owned(),
            msisdn: "2250707070707".to_owned(),
            amount: Amount(80_000),
            status: "completed".to_owned(),
        }],
        manifest_digest: "0".repeat(64),
        state_serial: 3,
        kyc: BTreeMap::from([("2250747000000".to_owned(), "complete".to_owned())]),
    }
}

/// Builds the sample plan with one recipient blocked and a plan-wide blocker.
pub fn blocked_plan() -> Plan {
    let mut plan = sample_plan();
    plan.items.push(item(
        "E006",
        "Issa Ouattara",
        60_000,
        Action::Blocked,
        "`2250505050505` is not a Djamo customer",
        "new",
    ));
    plan.summary.blocked = 1;
    plan.blockers
        .push("total 715 650 XOF exceeds `limits.max_total` 500 000 XOF".to_owned());
    plan
}

#[test]
fn text_plan_snapshot() {
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            "plan_text",
            render::text(&sample_plan(), Some(&"a".repeat(64)))
        );
    });
}

#[test]
fn text_blocked_plan_snapshot() {
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("plan_text_blocked", render::text(&blocked_plan(), None));
    });
}

#[test]
fn markdown_plan_snapshot() {
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            "plan_markdown",
            render::markdown(&sample_plan(), Some(&"a".repeat(64)))
        );
    });
}

#[test]
fn markdown_blocked_plan_snapshot() {
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            "plan_markdown_blocked",
            render::markdown(&blocked_plan(), None)
        );
    });
}

#[test]
fn text_colours_only_action_column() {
    let plan = blocked_plan();
    let plain = render::text(&plan, None);
    let coloured = render::text_styled(&plan, None, true);

    assert!(!plain.contains('\u{1b}'), "plain text has escape codes");
    let green_pay = "\u{1b}[32mpay    \u{1b}[0m";
    let yellow_retry = "\u{1b}[33mretry  \u{1b}[0m";
    let cyan_wait = "\u{1b}[36mwait   \u{1b}[0m";
    let red_blocked = "\u{1b}[1m\u{1b}[31mblocked\u{1b}[0m";
    assert!(coloured.contains(green_pay), "{coloured}");
    assert!(coloured.contains(yellow_retry), "{coloured}");
    assert!(coloured.contains(cyan_wait), "{coloured}");
    assert!(coloured.contains(red_blocked), "{coloured}");

    let stripped = coloured
        .replace("\u{1b}[1m", "")
        .replace("\u{1b}[31m", "")
        .replace("\u{1b}[32m", "")
        .replace("\u{1b}[33m", "")
        .replace("\u{1b}[36m", "")
        .replace("\u{1b}[0m", "");
    assert_eq!(stripped, plain, "colours changed the layout");
}

#[test]
fn markdown_escapes_table_breaking_text() {
    let markdown = render::markdown(&sample_plan(), None);
    assert!(markdown.contains(r"Yao \| N'Guessan &lt;b>"), "{markdown}");
    assert!(!markdown.contains("<b>"), "{markdown}");
}

#[test]
fn markdown_caps_rows_keeping_urgent() {
    let mut plan = blocked_plan();
    let filler = (0..render::MARKDOWN_MAX_ROWS + 50).map(|n| {
        item(
            &format!("F{n:04}"),
            "Filler",
            10_000,
            Action::Pay,
            "new payment",
            "new",
        )
    });
    plan.items.splice(0..0, filler);
    let markdown = render::markdown(&plan, None);

    let rows = markdown
        .lines()
        .filter(|line| line.starts_with("| ") && line.contains("`sal-2026-12-"))
        .count();
    assert_eq!(rows, render::MARKDOWN_MAX_ROWS);
    assert!(
        markdown.contains("**blocked** | E006"),
        "blocked row was cut"
    );
    assert!(markdown.contains("| retry | E004"), "retry row was cut");
    let hidden = plan.items.len() - render::MARKDOWN_MAX_ROWS;
    assert!(
        markdown.contains(&format!("{hidden} more payment(s) not shown")),
        "no note on the hidden rows"
    );
    assert!(
        markdown.len() < 65_536,
        "comment too long: {}",
        markdown.len()
    );
}

#[test]
fn json_carries_contract_fields() {
    let value = render::json(&sample_plan(), Some("abc"));
    assert_eq!(value["job"], "salaries");
    assert_eq!(value["period"], "2026-12");
    assert_eq!(value["digest"], "abc");
    for key in [
        "to_pay",
        "already_paid",
        "in_progress",
        "blocked",
        "amount",
        "fees",
        "total",
        "balance",
    ] {
        assert!(value["summary"][key].is_u64(), "summary.{key} missing");
    }
    let first = &value["items"][0];
    for key in ["id", "msisdn", "reference", "action", "reason"] {
        assert!(first[key].is_string(), "items[0].{key} missing");
    }
    assert!(first["amount"].is_u64());
    assert!(first["fee"].is_u64());
    assert_eq!(first["action"], "pay");
}
