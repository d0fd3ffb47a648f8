//! WS-Eventing on the agent: the subscriptions (wsbmc-eventing's [`Source`]) behind the WS-Man
//! service, fed with the indications each stored SEL record raises (wsbmc-cim's
//! `indication`), and the SEL as the backlog a Bookmark resumes from.
//!
//! Only Pull is offered: it needs no outbound connection, so nothing here waits. Subscribe in
//! another mode is refused with `wse:DeliveryModeRequestedUnavailable` until a delivery task
//! exists. Indications are raised from what the log task stored, so a threshold edge the
//! per-sensor rate limit kept out of the SEL raises none either, and a replay from a Bookmark
//! yields exactly what was delivered live.

use wsbmc_cim::LogView;
use wsbmc_cim::indication;
use wsbmc_eventing::subscribe::Bookmark;
use wsbmc_eventing::{Backlog, Config, DeliveryMode, Event, Source};
use wsbmc_wsman::{Fault, FaultDetail, FaultKind};

use crate::log::LogShared;

/// The delivery modes this agent delivers.
pub(crate) const MODES: &[DeliveryMode] = &[DeliveryMode::Pull];

/// The subscription table, seeded apart from the service's context tokens.
pub(crate) fn source(seed: u64) -> Source {
    Source::new(Config::default(), seed ^ 0x5eed_e7e4_7000_0001, MODES)
}

/// The SEL as it was last published, seen as a backlog of indications.
pub(crate) struct SelBacklog<'a> {
    pub(crate) log: &'a LogShared,
    pub(crate) system_name: &'a str,
}

impl Backlog for SelBacklog<'_> {
    fn replay(
        &self,
        bookmark: Bookmark,
        filter: Option<&str>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Fault> {
        let len = self.log.len();
        let from = match bookmark {
            Bookmark::Earliest => 0,
            Bookmark::After(id) => (0..len)
                .find(|&i| self.log.record_id(i) == Some(id))
                .map(|i| i + 1)
                .ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidBookmark, FaultDetail::Expired)
                        .message("The SEL no longer holds the record the bookmark names.")
                })?,
        };
        for i in from..len {
            let Some(view) = self.log.record(i) else {
                continue;
            };
            for ind in indication::of_record(&view, self.system_name) {
                if ind.matches(filter) {
                    sink(Event::new(Some(ind.record_id), ind.action, ind.body));
                }
            }
        }
        Ok(())
    }
}

/// Offers the indications of SEL record `id` (just stored and published) to every
/// subscription whose filter selects them.
pub(crate) fn indicate(source: &Source, log: &LogShared, system_name: &str, id: u16, now_ms: u64) {
    let Some(index) = (0..log.len()).rev().find(|&i| log.record_id(i) == Some(id)) else {
        return;
    };
    let Some(view) = log.record(index) else {
        return;
    };
    for ind in indication::of_record(&view, system_name) {
        let matches = |filter: Option<&str>| ind.matches(filter);
        let event = Event::new(Some(ind.record_id), ind.action.clone(), ind.body.clone());
        source.offer(event, now_ms, &matches);
    }
}
