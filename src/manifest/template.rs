//! Handlebars templates of references and descriptions: compiling, and listing every variable a
//! template reads so that a missing one is an error even inside `{{#if}}`, which handlebars'
//! strict mode lets through by taking the `else` branch.

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Handlebars, Path, PathSeg};

/// The variables every template context contains, besides `vars.NAME`.
pub const CONTEXT_NAMES: [&str; 6] = ["job", "period", "id", "name", "msisdn", "amount"];

/// Helpers a template may call. Block helpers that change the context, such as `each` and
/// `with`, are left out so that every variable can be checked before rendering.
const HELPERS: [&str; 13] = [
    "if", "unless", "eq", "ne", "lt", "gt", "lte", "gte", "and", "or", "not", "len", "lookup",
];

/// Compiles a template, or returns the parser's message with the template's own line and column.
pub fn compile(source: &str) -> Result<Template, String> {
    Template::compile(source).map_err(|error| {
        let reason = error.reason().to_string();
        match error.pos() {
            Some((line, column)) => format!("{reason} (template line {line}, column {column})"),
            None => reason,
        }
    })
}

/// One piece of a template made only of text and variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Job,
    Period,
    Id,
    Name,
    Msisdn,
    Amount,
    Var(String),
}

/// Compiles a template made only of text and plain variables into segments that render without
/// handlebars, about ten times faster per recipient. Returns `None` for anything else (blocks,
/// helpers, whitespace control), which then renders through handlebars with the same result.
pub fn simple(source: &str) -> Option<Vec<Segment>> {
    if source.contains('~') {
        return None;
    }
    let template = Template::compile(source).ok()?;
    let mut segments = Vec::with_capacity(template.elements.len());
    for element in &template.elements {
        match element {
            TemplateElement::RawString(text) => segments.push(Segment::Text(text.clone())),
            TemplateElement::Comment(_) => {}
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                let plain = helper.params.is_empty()
                    && helper.hash.is_empty()
                    && helper.template.is_none()
                    && helper.block_param.is_none();
                let name = match &helper.name {
                    Parameter::Name(name) if plain => name.clone(),
                    Parameter::Path(path) if plain => path_text(path).ok()?,
                    _ => return None,
                };
                segments.push(segment(&name)?);
            }
            _ => return None,
        }
    }
    Some(segments)
}

fn segment(name: &str) -> Option<Segment> {
    let segment = match name {
        "job" => Segment::Job,
        "period" => Segment::Period,
        "id" => Segment::Id,
        "name" => Segment::Name,
        "msisdn" => Segment::Msisdn,
        "amount" => Segment::Amount,
        _ => {
            let var = name.strip_prefix("vars.")?;
            if var.contains('.') || HELPERS.contains(&name) {
                return None;
            }
            Segment::Var(var.to_owned())
        }
    };
    Some(segment)
}

/// Builds the registry every rendering uses: strict, and without HTML escaping so that
/// `Dupont & Fils` stays as written.
pub fn registry() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry
}

/// Lists the variables a template reads, such as `period` or `vars.company`, in order of first
/// use, or returns why the template uses a construct that cannot be checked.
pub fn variables(template: &Template) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    walk_template(template, &mut found)?;
    Ok(found)
}

fn walk_template(template: &Template, found: &mut Vec<String>) -> Result<(), String> {
    for element in &template.elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                walk_helper(helper, found)?;
            }
            TemplateElement::HelperBlock(helper) => {
                walk_helper(helper, found)?;
                if let Some(inner) = &helper.template {
                    walk_template(inner, found)?;
                }
                if let Some(inverse) = &helper.inverse {
                    walk_template(inverse, found)?;
                }
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                return Err(
                    "decorators (`{{* ...}}`) are not supported in manifest templates".into(),
                );
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                return Err(
                    "partials (`{{> ...}}`) are not supported in manifest templates".into(),
                );
            }
            _ => return Err("this template construct is not supported in manifests".into()),
        }
    }
    Ok(())
}

fn walk_helper(helper: &HelperTemplate, found: &mut Vec<String>) -> Result<(), String> {
    let is_call = !helper.params.is_empty() || !helper.hash.is_empty() || helper.template.is_some();
    match &helper.name {
        Parameter::Name(name) if is_call => check_helper(name)?,
        Parameter::Name(name) => push(found, name.clone()),
        Parameter::Path(path) if is_call => check_helper(&path_text(path)?)?,
        Parameter::Path(path) => push(found, path_text(path)?),
        Parameter::Subexpression(sub) => walk_element(sub.as_element(), found)?,
        Parameter::Literal(_) => {}
        _ => return Err("this template construct is not supported in manifests".into()),
    }
    if helper.block_param.is_some() {
        return Err("block parameters (`as |x|`) are not supported in manifest templates".into());
    }
    for parameter in helper.params.iter().chain(helper.hash.values()) {
        walk_parameter(parameter, found)?;
    }
    Ok(())
}

fn walk_element(element: &TemplateElement, found: &mut Vec<String>) -> Result<(), String> {
    match element {
        TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
            walk_helper(helper, found)
        }
        _ => Err("this template construct is not supported in manifests".into()),
    }
}

fn walk_parameter(parameter: &Parameter, found: &mut Vec<String>) -> Result<(), String> {
    match parameter {
        Parameter::Name(name) => push(found, name.clone()),
        Parameter::Path(path) => push(found, path_text(path)?),
        Parameter::Subexpression(sub) => walk_element(sub.as_element(), found)?,
        Parameter::Literal(_) => {}
        _ => return Err("this template construct is not supported in manifests".into()),
    }
    Ok(())
}

fn check_helper(name: &str) -> Result<(), String> {
    if HELPERS.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "helper `{name}` is not supported in manifest templates; the supported helpers are {}",
            HELPERS.map(|helper| format!("`{helper}`")).join(", ")
        ))
    }
}

fn path_text(path: &Path) -> Result<String, String> {
    match path {
        Path::Relative((segments, raw)) => {
            let mut names = Vec::with_capacity(segments.len());
            for segment in segments {
                match segment {
                    PathSeg::Named(name) => names.push(name.as_str()),
                    _ => {
                        return Err(format!(
                            "`{raw}` uses `this` or `../`, which manifest templates do not support"
                        ));
                    }
                }
            }
            Ok(names.join("."))
        }
        Path::Local((_, _, raw)) => Err(format!(
            "`{raw}` is a block-local variable, which manifest templates do not support"
        )),
    }
}

fn push(found: &mut Vec<String>, name: String) {
    if !found.contains(&name) {
        found.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Result<Vec<String>, String> {
        variables(&compile(source)?)
    }

    #[test]
    fn variables_include_if_conditions() {
        let found = names("{{#if vars.bonus}}b-{{/if}}{{period}}-{{id}}").expect("valid");
        assert_eq!(found, ["vars.bonus", "period", "id"]);
    }

    #[test]
    fn variables_inside_else_branch() {
        let found =
            names("{{#unless vars.x}}{{name}}{{else}}{{vars.y}}{{/unless}}").expect("valid");
        assert_eq!(found, ["vars.x", "name", "vars.y"]);
    }

    #[test]
    fn each_helper_is_rejected() {
        let error = names("{{#each vars}}{{this}}{{/each}}").expect_err("each is unsupported");
        assert!(error.contains("`each`"), "{error}");
    }

    #[test]
    fn unclosed_block_reports_position() {
        let error = names("{{#if period}}x").expect_err("unclosed");
        assert!(error.contains("template line 1"), "{error}");
    }

    #[test]
    fn simple_templates_become_segments() {
        let segments = simple("sal-{{period}}-{{id}}-{{{vars.team}}}").expect("simple");
        assert_eq!(
            segments,
            [
                Segment::Text("sal-".into()),
                Segment::Period,
                Segment::Text("-".into()),
                Segment::Id,
                Segment::Text("-".into()),
                Segment::Var("team".into()),
            ]
        );
    }

    #[test]
    fn blocks_are_not_simple() {
        assert_eq!(simple("{{#if vars.x}}a{{/if}}"), None);
        assert_eq!(simple("a {{~period}}"), None);
        assert_eq!(simple("{{eq id \"x\"}}"), None);
    }

    #[test]
    fn registry_does_not_escape_html() {
        let registry = registry();
        let rendered = registry
            .render_template(
                "{{name}}",
                &serde_json::json!({"name": "Dupont & Fils 'SA'"}),
            )
            .expect("renders");
        assert_eq!(rendered, "Dupont & Fils 'SA'");
    }
}
