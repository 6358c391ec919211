/* SpeexDSP MDF echo canceller as a yardstick: ref.raw and mic.raw (s16le, 8 kHz) -> out.raw. */
#include <speex/speex_echo.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  int frame = 160, tail = argc > 4 ? atoi(argv[4]) : 1024, rate = 8000;
  FILE *r = fopen(argv[1], "rb"), *m = fopen(argv[2], "rb"), *o = fopen(argv[3], "wb");
  SpeexEchoState *st = speex_echo_state_init(frame, tail);
  speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
  short ref[160], mic[160], out[160];
  while (fread(ref, 2, frame, r) == (size_t)frame && fread(mic, 2, frame, m) == (size_t)frame) {
    speex_echo_cancellation(st, mic, ref, out);
    fwrite(out, 2, frame, o);
  }
  speex_echo_state_destroy(st);
  fclose(r); fclose(m); fclose(o);
  return 0;
}
