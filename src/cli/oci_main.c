/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff-oci: the runtime face alone, with runc's argument shape.
 *
 * A binary of its own rather than a name for skiff: schedulers start the
 * runtime several times per container (create, start, state, kill,
 * delete), and this one links neither libarchive nor libcurl, whose
 * libraries (libxml2, ICU, libstdc++, the TLS and HTTP stacks) the
 * dynamic loader would otherwise map and relocate on every call. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	skiff_log_init("skiff", SKIFF_LOG_WARNING);
	return oci_main(argc, argv);
}
