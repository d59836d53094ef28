/*
 * banned.h - string functions that invite overflows, banned project-wide.
 *
 * Included last by every .c file of src/ (through util/common.h). Use
 * snprintf, buf_*, memcpy with checked lengths, strtok_r instead.
 */
#ifndef SPAMTIDE_UTIL_BANNED_H
#define SPAMTIDE_UTIL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_spamtide

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
