//! Loading networks and properties into the worker, from demos and from the user's files,
//! and the jobs the page waits for while the worker parses them (their answers are taken by
//! the page's dispatcher, which also gives a restarted worker its files again).

use super::fetch::{fetch_bytes, file_bytes};
use crate::bridge;
use crate::state::{next_slot, AppState};
use birdnn::demos::DemoEntry;
use birdnn::protocol::{JobId, NetworkId, PropertyId, Request};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest file the page sends to the worker (its bytes are transferred, not copied; the
/// limit keeps a mistaken drop of a huge file from filling the worker's memory).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// What the page waits for, by job.
pub enum Pending {
    Network {
        slot: NetworkId,
        file_name: String,
        bytes: Arc<Vec<u8>>,
        demo: Option<String>,
        /// A demo's properties replace the list once its network loads.
        demo_properties: Option<Vec<(String, Arc<Vec<u8>>)>>,
        /// Re-sent to a restarted worker: the page already shows it.
        restore: bool,
    },
    Property {
        slot: PropertyId,
        bytes: Arc<Vec<u8>>,
        restore: bool,
        from_demo: bool,
    },
    Rule,
}

thread_local! {
    /// The jobs the page waits for, each with what its answer is for.
    pub static PENDING: RefCell<HashMap<JobId, Pending>> = RefCell::new(HashMap::new());
}

/// Asks the worker to parse and hold a network file (a demo's comes with its properties).
pub fn load_network(
    state: AppState,
    file_name: String,
    bytes: Arc<Vec<u8>>,
    demo: Option<String>,
    demo_properties: Option<Vec<(String, Arc<Vec<u8>>)>>,
) {
    if bytes.len() > MAX_UPLOAD_BYTES {
        state.error.set(Some(too_big(&file_name, bytes.len())));
        return;
    }
    let job = bridge::next_job();
    let slot = next_slot();
    state.loading.update(|l| l.push(file_name.clone()));
    bridge::send(&Request::LoadNetwork {
        job,
        network: slot,
        file_name: file_name.clone(),
        bytes: bytes.to_vec(),
    });
    PENDING.with(|p| {
        p.borrow_mut().insert(
            job,
            Pending::Network {
                slot,
                file_name,
                bytes,
                demo,
                demo_properties,
                restore: false,
            },
        )
    });
}

/// Asks the worker to parse and hold a property file; returns its slot (`None` when the file
/// is too big to send).
pub fn load_property(
    state: AppState,
    file_name: String,
    bytes: Arc<Vec<u8>>,
    from_demo: bool,
) -> Option<PropertyId> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        state.error.set(Some(too_big(&file_name, bytes.len())));
        return None;
    }
    let job = bridge::next_job();
    let slot = next_slot();
    bridge::send(&Request::LoadProperty {
        job,
        property: slot,
        file_name,
        bytes: bytes.to_vec(),
    });
    PENDING.with(|p| {
        p.borrow_mut().insert(
            job,
            Pending::Property {
                slot,
                bytes,
                restore: false,
                from_demo,
            },
        )
    });
    Some(slot)
}

fn too_big(file_name: &str, len: usize) -> String {
    format!(
        "{file_name} is {:.1} MiB; the app loads files up to {} MiB (the birdnn command line \
         program has no such limit). Nothing was changed.",
        len as f64 / (1024.0 * 1024.0),
        MAX_UPLOAD_BYTES / (1024 * 1024)
    )
}

/// Loads a file the user gave: properties by their `.vnnlib` extension, networks otherwise.
fn load_user_file(state: AppState, file_name: String, bytes: Vec<u8>) {
    let bytes = Arc::new(bytes);
    if file_name.to_ascii_lowercase().ends_with(".vnnlib") {
        load_property(state, file_name, bytes, false);
    } else {
        load_network(state, file_name, bytes, None, None);
    }
}

/// Takes the job off the waiting list: `None` when the page no longer waits for it.
pub fn take_pending(job: JobId) -> Option<Pending> {
    PENDING.with(|p| p.borrow_mut().remove(&job))
}

/// Loads the files the user dropped or chose (each too big one refused before it is read).
pub fn load_files(state: AppState, files: Option<web_sys::FileList>) {
    let Some(files) = files else { return };
    let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    for file in files {
        let name = file.name();
        if file.size() > MAX_UPLOAD_BYTES as f64 {
            state.error.set(Some(too_big(&name, file.size() as usize)));
            continue;
        }
        wasm_bindgen_futures::spawn_local(async move {
            match file_bytes(&file).await {
                Ok(bytes) => load_user_file(state, name, bytes),
                Err(e) => state.error.set(Some(e)),
            }
        });
    }
}

/// Fetches a demo's network and properties, then loads them.
pub fn load_demo(state: AppState, entry: DemoEntry) {
    state.loading.update(|l| l.push(entry.network.clone()));
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let net = fetch_bytes(&format!("demos/{}", entry.network)).await?;
            let mut props = Vec::new();
            for p in &entry.properties {
                props.push((
                    p.clone(),
                    Arc::new(fetch_bytes(&format!("demos/{p}")).await?),
                ));
            }
            Ok::<_, String>((net, props))
        }
        .await;
        state.loading.update(|l| l.retain(|n| *n != entry.network));
        match result {
            Ok((net, props)) => load_network(
                state,
                entry.network.clone(),
                Arc::new(net),
                Some(entry.id.clone()),
                Some(props),
            ),
            Err(e) => state.error.set(Some(e)),
        }
    });
}
