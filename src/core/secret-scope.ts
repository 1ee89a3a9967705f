// Where a request's secret reference leads: into its application's own scope of the secret
// store, never another's. `mqtt/password` of application temp-sensor is the store's
// `temp-sensor/mqtt/password` (with the directory provider, the file
// `<DEPLOYER_SECRETS_DIR>/temp-sensor/mqtt/password`). A request author can name only their
// application's secrets: a reference has no ".." and no leading "/" (the request schema), and
// `other-app/token` is looked for as `temp-sensor/other-app/token`. A secret two applications
// share is the operator's grant: a symbolic link in one's scope to the other's file, which
// the provider follows as long as it stays inside the store.

/** The store's name for `ref` of `application`. */
export function scopedSecretRef(application: string, ref: string): string {
  return `${application}/${ref}`;
}
