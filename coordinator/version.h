/* version.h: the swan version, printed by `swan --version` and written into every manifest. */
#ifndef SWAN_VERSION_H
#define SWAN_VERSION_H

#define SWAN_VERSION "0.1.0"

#endif
