//! When output carries ANSI colours: `--color`, `NO_COLOR` and whether the stream is a terminal.

use std::io::IsTerminal;

/// The `--color` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour, even when piped and when `NO_COLOR` is set.
    Always,
    /// Never colour.
    Never,
}

/// The stream whose colour is being decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl ColorChoice {
    /// True when output written to `stream` should carry colours.
    ///
    /// An explicit `--color always` or `never` wins over the environment. Under `auto`, a
    /// non-empty `NO_COLOR` turns colours off, as no-color.org defines it, and so does a stream
    /// that is not a terminal.
    pub fn enabled(self, stream: Stream) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
                let terminal = match stream {
                    Stream::Stdout => std::io::stdout().is_terminal(),
                    Stream::Stderr => std::io::stderr().is_terminal(),
                };
                !no_color && terminal
            }
        }
    }

    /// Finds `--color` on a raw command line, so that clap's own help and errors follow it
    /// before the full parse has run. An invalid value is left for the parser to report.
    pub fn scan(args: &[std::ffi::OsString]) -> Option<ColorChoice> {
        let mut found = None;
        let mut words = args.iter().skip(1).map(|arg| arg.to_string_lossy());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = if let Some(value) = word.strip_prefix("--color=") {
                Some(value.to_owned())
            } else if word == "--color" {
                words.next().map(|value| value.into_owned())
            } else {
                None
            };
            found = match value.as_deref() {
                Some("auto") => Some(ColorChoice::Auto),
                Some("always") => Some(ColorChoice::Always),
                Some("never") => Some(ColorChoice::Never),
                _ => found,
            };
        }
        found
    }
}

impl From<ColorChoice> for clap::ColorChoice {
    fn from(choice: ColorChoice) -> Self {
        match choice {
            ColorChoice::Auto => clap::ColorChoice::Auto,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(words: &[&str]) -> Option<ColorChoice> {
        let args: Vec<std::ffi::OsString> = words.iter().map(Into::into).collect();
        ColorChoice::scan(&args)
    }

    #[test]
    fn scan_reads_both_spellings() {
        assert_eq!(
            scan(&["payroll", "--color=never", "plan"]),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            scan(&["payroll", "plan", "--color", "always"]),
            Some(ColorChoice::Always)
        );
        assert_eq!(scan(&["payroll", "plan"]), None);
    }

    #[test]
    fn scan_keeps_last_valid_value() {
        let words = ["payroll", "--color", "never", "--color=auto"];
        assert_eq!(scan(&words), Some(ColorChoice::Auto));
        assert_eq!(scan(&["payroll", "--color", "purple"]), None);
    }

    #[test]
    fn scan_stops_at_double_dash() {
        assert_eq!(scan(&["payroll", "show", "--", "--color=always"]), None);
    }

    #[test]
    fn explicit_choice_ignores_environment() {
        assert!(ColorChoice::Always.enabled(Stream::Stdout));
        assert!(!ColorChoice::Never.enabled(Stream::Stderr));
    }
}
