// Burns CPU without ever yielding.
let n = 0;
for (;;) n++;
