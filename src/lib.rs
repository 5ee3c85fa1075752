//! `payroll`: payroll-as-code for Djamo Business transfers.
//!
//! The modules follow the pipeline: a [`manifest`] is loaded and rendered into payments, [`plan`]
//! compares them with [`state`] and the provider ([`djamo`]), [`apply`] pays them exactly once,
//! [`schedule`] runs jobs from cron, and [`cli`] is the command layer on top.

pub mod apply;
pub mod cli;
pub mod djamo;
pub mod exit;
pub mod manifest;
pub mod money;
pub mod msisdn;
pub mod plan;
pub mod sandbox;
pub mod schedule;
pub mod state;
