//! Plans as text for a terminal, JSON for machines and Markdown for a pull-request comment.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::plan::{Action, Plan, PlanItem};

/// Maximum number of payment rows in a Markdown plan. GitHub rejects comments over 65 536
/// characters, and a row takes up to about 150 (an estimate from typical names and reasons).
pub const MARKDOWN_MAX_ROWS: usize = 300;

/// Renders the plan for a terminal, without colours: the summary first, then one row per
/// payment.
pub fn text(plan: &Plan, digest: Option<&str>) -> String {
    text_styled(plan, digest, false)
}

/// Returns the style of an action's cell: green, yellow or cyan for what sends or waits, bold red
/// for what stops the plan, and no colour for the rest.
fn action_style(action: Action) -> Style {
    let color = match action {
        Action::Pay => AnsiColor::Green,
        Action::Retry => AnsiColor::Yellow,
        Action::Wait => AnsiColor::Cyan,
        Action::Blocked => return Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Action::None | Action::Skip => return Style::new(),
    };
    Style::new().fg_color(Some(color.into()))
}

/// Renders the plan like [`text`], with the action column in colour when `color` is true.
pub fn text_styled(plan: &Plan, digest: Option<&str>, color: bool) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(out, "Plan for job `{}`, period `{}`", plan.job, plan.period);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  to pay        {} payment(s): {} + fees {} = {}",
        s.to_pay, s.amount, s.fees, s.total
    );
    let _ = writeln!(out, "  already paid  {}", s.already_paid);
    let _ = writeln!(out, "  in progress   {}", s.in_progress);
    if s.failed > 0 {
        let _ = writeln!(out, "  failed        {}", s.failed);
    }
    if s.skipped > 0 {
        let _ = writeln!(out, "  skipped       {}", s.skipped);
    }
    let _ = writeln!(out, "  blocked       {}", s.blocked);
    let _ = writeln!(
        out,
        "  balance       {} ({} after)",
        s.balance, s.balance_after
    );
    if let Some(digest) = digest {
        let _ = writeln!(out, "  digest        {digest}");
    }

    if !plan.blockers.is_empty() {
        let _ = writeln!(out, "\nBlocked:");
        for blocker in &plan.blockers {
            let _ = writeln!(out, "  - {blocker}");
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }

    let rows: Vec<[String; 7]> = plan
        .items
        .iter()
        .map(|item| {
            [
                item.action.as_str().to_owned(),
                item.id.clone(),
                item.msisdn.clone(),
                item.amount.grouped(),
                item.fee.grouped(),
                item.reference.clone(),
                item.reason.clone(),
            ]
        })
        .collect();
    let header = [
        "ACTION",
        "ID",
        "MSISDN",
        "AMOUNT",
        "FEE",
        "REFERENCE",
        "REASON",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let _ = writeln!(out);
    write_row(&mut out, &header.map(str::to_owned), &widths, Style::new());
    for (row, item) in rows.iter().zip(&plan.items) {
        let style = if color {
            action_style(item.action)
        } else {
            Style::new()
        };
        write_row(&mut out, row, &widths, style);
    }

    if !plan.orphans.is_empty() {
        let _ = writeln!(
            out,
            "\nRecorded for this period but no longer in the manifest (not touched):"
        );
        for orphan in &plan.orphans {
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                orphan.reference, orphan.msisdn, orphan.amount, orphan.status
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", verdict(plan));
    out
}

/// Writes one table row with `action_style` on its first cell. Padding is computed on the plain
/// text, so escape codes do not shift the columns.
fn write_row(out: &mut String, row: &[String; 7], widths: &[usize; 7], action_style: Style) {
    let mut line = String::from(" ");
    for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
        // Amount columns read best aligned to the right.
        let cell = if index == 0 {
            format!(" {action_style}{cell:<width$}{action_style:#}")
        } else if index == 3 || index == 4 {
            format!(" {cell:>width$}")
        } else if index + 1 == row.len() {
            format!(" {cell}")
        } else {
            format!(" {cell:<width$}")
        };
        line.push_str(&cell);
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

/// Returns one line that states what applying this plan would do.
pub fn verdict(plan: &Plan) -> String {
    if plan.is_blocked() {
        "This plan is blocked: fix what it lists as blocked, then plan again.".to_owned()
    } else if plan.has_changes() {
        format!(
            "Apply would pay {} payment(s) for {} in all.",
            plan.summary.to_pay, plan.summary.total
        )
    } else if plan.has_work() {
        "Nothing to pay; apply would wait for the payments in progress.".to_owned()
    } else if plan.summary.failed > 0 {
        format!(
            "Nothing to pay, but {} payment(s) failed earlier: plan with `--retry-failed` to pay \
             them again under new references.",
            plan.summary.failed
        )
    } else {
        "Nothing to pay: every payment of this period is settled.".to_owned()
    }
}

/// Renders the plan as a pull-request comment.
pub fn markdown(plan: &Plan, digest: Option<&str>) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Payroll plan: `{}` for `{}`\n",
        plan.job, plan.period
    );
    let _ = writeln!(out, "{}\n", verdict(plan));
    let _ = writeln!(out, "| | |\n| --- | --- |");
    let _ = writeln!(out, "| to pay | {} payment(s) |", s.to_pay);
    let _ = writeln!(out, "| amount | {} |", s.amount);
    let _ = writeln!(out, "| fees | {} |", s.fees);
    let _ = writeln!(out, "| total | **{}** |", s.total);
    let _ = writeln!(
        out,
        "| balance | {} ({} after) |",
        s.balance, s.balance_after
    );
    let _ = writeln!(out, "| already paid | {} |", s.already_paid);
    let _ = writeln!(out, "| in progress | {} |", s.in_progress);
    let _ = writeln!(out, "| failed | {} |", s.failed);
    let _ = writeln!(out, "| skipped | {} |", s.skipped);
    let _ = writeln!(out, "| blocked | {} |", s.blocked);
    if let Some(digest) = digest {
        let _ = writeln!(out, "| digest | `{digest}` |");
    }
    if !plan.blockers.is_empty() {
        let _ = writeln!(out, "\n**Blocked**\n");
        for blocker in &plan.blockers {
            let _ = writeln!(out, "- {}", escape(blocker));
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n**Warnings**\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "- {}", escape(warning));
        }
    }
    let _ = writeln!(
        out,
        "\n<details><summary>{} payment(s)</summary>\n",
        plan.items.len()
    );
    let _ = writeln!(
        out,
        "| action | id | name | msisdn | amount | fee | reference | reason |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | ---: | ---: | --- | --- |");
    let table_items = markdown_rows(plan);
    for item in &table_items {
        let action = match item.action {
            Action::Blocked => "**blocked**".to_owned(),
            other => other.as_str().to_owned(),
        };
        let _ = writeln!(
            out,
            "| {action} | {} | {} | {} | {} | {} | `{}` | {} |",
            escape(&item.id),
            escape(&item.name),
            item.msisdn,
            item.amount.grouped(),
            item.fee.grouped(),
            item.reference,
            escape(&item.reason)
        );
    }
    if table_items.len() < plan.items.len() {
        let _ = writeln!(
            out,
            "\n{} more payment(s) not shown, none of them blocked or retried: `payroll show \
             PLANFILE` lists them all.",
            plan.items.len() - table_items.len()
        );
    }
    let _ = writeln!(out, "\n</details>");
    if !plan.orphans.is_empty() {
        let _ = writeln!(
            out,
            "\nRecorded for this period but no longer in the manifest (not touched):\n"
        );
        for orphan in &plan.orphans {
            let _ = writeln!(
                out,
                "- `{}` {} {} ({})",
                orphan.reference, orphan.msisdn, orphan.amount, orphan.status
            );
        }
    }
    out
}

/// Selects the rows of the Markdown table: every item when they fit under
/// [`MARKDOWN_MAX_ROWS`], else the blocked and retried items first, then the others in plan
/// order up to the limit.
fn markdown_rows(plan: &Plan) -> Vec<&PlanItem> {
    if plan.items.len() <= MARKDOWN_MAX_ROWS {
        return plan.items.iter().collect();
    }
    let urgent = |item: &&PlanItem| matches!(item.action, Action::Blocked | Action::Retry);
    let mut rows: Vec<&PlanItem> = plan.items.iter().filter(urgent).collect();
    let room = MARKDOWN_MAX_ROWS.saturating_sub(rows.len());
    rows.extend(plan.items.iter().filter(|item| !urgent(item)).take(room));
    rows
}

/// Keeps user text from breaking a Markdown table or starting markup.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

/// Builds the JSON document of `plan --format json`: the plan, plus its digest when it was saved.
pub fn json(plan: &Plan, digest: Option<&str>) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or(serde_json::Value::Null);
    if let (Some(object), Some(digest)) = (value.as_object_mut(), digest) {
        object.insert(
            "digest".to_owned(),
            serde_json::Value::String(digest.to_owned()),
        );
    }
    value
}
