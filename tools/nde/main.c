/* placeholder until the tool lands */
#include <stdio.h>
#include "nde.h"
int main(void) { printf("nde %s\n", nde_version()); return 0; }
