//! Informers: one watch per kind, a cache (`Store`) that is updated *before* anyone is told
//! of a change, and a callback for every change — deletions included, which kube's shared
//! streams do not forward. The callback maps the changed object to the jobs (or tables) to
//! reconcile, so a reconcile triggered by a change always reads a cache that holds it.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Starts watching `api`; returns the cache and the task driving the watch. `on_change` is
/// called (with the cache) after the cache holds the change: for every added, modified or deleted object, and,
/// after a (re)list, for every listed object and every object the list no longer has.
/// `managedFields` are dropped from cached objects unless `keep_managed_fields`.
pub fn spawn<K, F>(
    api: Api<K>,
    config: watcher::Config,
    keep_managed_fields: bool,
    on_change: F,
    shutdown: CancellationToken,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
    F: Fn(&K, &Store<K>) + Send + 'static,
{
    let (reader, mut writer) = reflector::store::<K>();
    let store = reader.clone();
    let kind = K::kind(&Default::default()).into_owned();
    let task = tokio::spawn(async move {
        let mut stream = watcher(api, config).default_backoff().boxed();
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = stream.next() => event,
            };
            let event = match event {
                Some(Ok(e)) => e,
                Some(Err(error)) => {
                    tracing::warn!(%kind, %error, "watch failed; retrying with backoff");
                    continue;
                }
                None => break,
            };
            let event = if keep_managed_fields {
                event
            } else {
                event.modify(|o| {
                    o.meta_mut().managed_fields = None;
                })
            };
            match &event {
                watcher::Event::Apply(o) | watcher::Event::Delete(o) => {
                    writer.apply_watcher_event(&event);
                    on_change(o, &reader);
                }
                watcher::Event::Init | watcher::Event::InitApply(_) => {
                    writer.apply_watcher_event(&event);
                }
                watcher::Event::InitDone => {
                    let before: Vec<_> = reader.state();
                    writer.apply_watcher_event(&event);
                    let after = reader.state();
                    let kept: HashSet<ObjectRef<K>> = after
                        .iter()
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect();
                    tracing::debug!(%kind, objects = after.len(), "listed");
                    for gone in before
                        .iter()
                        .filter(|o| !kept.contains(&ObjectRef::from_obj(o.as_ref())))
                    {
                        on_change(gone, &reader);
                    }
                    for o in &after {
                        on_change(o, &reader);
                    }
                }
            }
        }
        tracing::debug!(%kind, "watch stopped");
    });
    (store, task)
}

/// The namespace and name of an object, for mapping children to their job.
pub fn namespace_and_label<K: Resource>(object: &K, label: &str) -> Option<(String, String)> {
    let namespace = object.namespace()?;
    let value = object.labels().get(label)?.clone();
    Some((namespace, value))
}
