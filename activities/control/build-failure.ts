// What a failed build may say. The engine's reason goes into the Failed event, the record and
// the workflow's history, so it must not quote the files the build read: the Docker Engine's
// parser quotes the line it could not read ("unknown instruction: S3CRET-…"), and a file that
// does not parse is most often a file that is not a Dockerfile at all, a key or a token
// named as one. Such a reason keeps its line number and loses the engine's words.

/** An engine's build error as a Failed event may carry it; `quotesFile` when the engine's own words were left out. */
export function buildFailureText(message: string, dockerfile: string): { text: string; quotesFile: boolean } {
  // Docker Engine's builder: "dockerfile parse error line 3: …"; BuildKit: "dockerfile parse error on line 3: …".
  const parse = /dockerfile parse error (?:on )?line (\d+)/i.exec(message);
  if (parse === null) return { text: message, quotesFile: false };
  return { text: `the Dockerfile ${dockerfile} could not be parsed at line ${parse[1]} (the builder's own words are left out: they quote the file)`, quotesFile: true };
}
