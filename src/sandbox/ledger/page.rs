//! Pages of `GET /v1/transactions`: opaque cursors over the order of creation.

use crate::djamo::wire::{Cursor, Page, Transaction};
use crate::sandbox::error::ApiFailure;
use crate::sandbox::ledger::{Ledger, LedgerEntry, ORD, SEQ, ord_key, seq_of_ord};

/// The position of a page of `GET /v1/transactions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageCursor {
    /// The newest transactions.
    First,
    /// Transactions older than this sequence number.
    Before(u64),
    /// Transactions newer than this sequence number.
    After(u64),
}

impl PageCursor {
    /// Parses a cursor that a previous page handed out.
    pub fn parse(text: &str) -> Option<PageCursor> {
        let (direction, hex) = text.split_at_checked(1)?;
        let seq = u64::from_str_radix(hex, 16).ok()?;
        match direction {
            "n" => Some(PageCursor::Before(seq)),
            "p" => Some(PageCursor::After(seq)),
            _ => None,
        }
    }

    fn before(seq: u64) -> String {
        format!("n{seq:012x}")
    }

    fn after(seq: u64) -> String {
        format!("p{seq:012x}")
    }
}

impl Ledger {
    /// Reads one page of transactions, newest first, optionally only those with `reference`.
    pub fn page(
        &self,
        reference: Option<&str>,
        limit: u64,
        cursor: PageCursor,
    ) -> Result<Page<Transaction>, ApiFailure> {
        if let Some(reference) = reference {
            let found = self.by_reference(reference)?;
            let data: Vec<Transaction> = found
                .iter()
                .filter(|e| match cursor {
                    PageCursor::First => true,
                    PageCursor::Before(seq) => e.seq < seq,
                    PageCursor::After(seq) => e.seq > seq,
                })
                .map(LedgerEntry::to_wire)
                .collect();
            return Ok(Page {
                count: found.iter().count() as u64,
                limit,
                cursor: Cursor::default(),
                data,
            });
        }

        let total = self.read_u64(SEQ)?;
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut seqs: Vec<u64> = Vec::with_capacity(take + 1);
        let (more_before, more_after);
        match cursor {
            PageCursor::First | PageCursor::Before(_) => {
                let upper = match cursor {
                    PageCursor::Before(seq) => ord_key(seq),
                    _ => ord_key(u64::MAX),
                };
                for item in self.tree.range(ORD.to_vec()..upper).rev().take(take + 1) {
                    let (key, _) = item?;
                    seqs.push(seq_of_ord(&key));
                }
                more_before = seqs.len() > take;
                seqs.truncate(take);
                more_after = seqs.first().is_some_and(|&first| first + 1 < total);
            }
            PageCursor::After(seq) => {
                let lower = ord_key(seq.saturating_add(1));
                for item in self.tree.range(lower..ord_key(u64::MAX)).take(take + 1) {
                    let (key, _) = item?;
                    seqs.push(seq_of_ord(&key));
                }
                more_after = seqs.len() > take;
                seqs.truncate(take);
                seqs.reverse();
                more_before = seqs.last().is_some_and(|&last| last > 0);
            }
        }

        let mut data = Vec::with_capacity(seqs.len());
        for seq in &seqs {
            if let Some(id) = self.tree.get(ord_key(*seq))?
                && let Some(entry) = self.entry_by_id_bytes(&id)?
            {
                data.push(entry.to_wire());
            }
        }
        let cursor = Cursor {
            prev: match seqs.first() {
                Some(&first) if more_after => Some(PageCursor::after(first)),
                _ => None,
            },
            next: match seqs.last() {
                Some(&last) if more_before => Some(PageCursor::before(last)),
                _ => None,
            },
        };
        Ok(Page {
            count: total,
            limit,
            cursor,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(
            PageCursor::parse(&PageCursor::before(42)),
            Some(PageCursor::Before(42))
        );
        assert_eq!(
            PageCursor::parse(&PageCursor::after(7)),
            Some(PageCursor::After(7))
        );
        assert_eq!(PageCursor::parse("x1"), None);
        assert_eq!(PageCursor::parse(""), None);
    }
}
