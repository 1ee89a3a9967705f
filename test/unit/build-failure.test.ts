import { buildFailureText } from '../../activities/control/build-failure';

describe('what a failed build says', () => {
  it("leaves out the engine's words for a Dockerfile it cannot parse, which quote the file, and keeps the line", () => {
    expect(buildFailureText('(HTTP code 400) unexpected - dockerfile parse error line 1: unknown instruction: S3CRET-0A1B2C ', 'token.txt')).toEqual({
      text: "the Dockerfile token.txt could not be parsed at line 1 (the builder's own words are left out: they quote the file)",
      quotesFile: true,
    });
    expect(buildFailureText('dockerfile parse error on line 12: unknown instruction: {"KEY":"C2VJCMV0"}', 'keys.json')).toEqual({
      text: "the Dockerfile keys.json could not be parsed at line 12 (the builder's own words are left out: they quote the file)",
      quotesFile: true,
    });
  });

  it("keeps the engine's words for any other failure", () => {
    expect(buildFailureText("The command '/bin/sh -c make' returned a non-zero code: 2", 'Dockerfile')).toEqual({
      text: "The command '/bin/sh -c make' returned a non-zero code: 2",
      quotesFile: false,
    });
  });
});
