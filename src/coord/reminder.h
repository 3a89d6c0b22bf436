/*
 * reminder.h - reminders for what the citizen does themselves (seed 000: "it
 * worked better to carry out what I learned in hospital when I was reminded of
 * it").  A CarePlan activity whose detail.performer is the plan's subject (the
 * Patient) and that has detail.scheduledTiming is reminded at each occurrence:
 * one watchdog job per plan (coord_job kind `remind-citizen`) at the next
 * occurrence of any such activity; the job notifies the citizen
 * (citizen-reminder) of every activity due at that moment and schedules the
 * next occurrence.  Jobs live in the database, so reminders survive restarts
 * and fire once with several processes (watchdog.h).
 *
 * Timings: Timing.event (instants) and Timing.repeat with periodUnit d or wk,
 * period (every n days or weeks, counted from boundsPeriod.start), dayOfWeek,
 * timeOfDay (local wall-clock time; default 09:00) and boundsPeriod.  Local
 * time is Europe/Copenhagen, whose rules Europe/Stockholm shares (CET/CEST).
 * Other repeat forms (frequency per hour, count, when) are not reminded.
 * Depends on fhir/ and below.
 */
#ifndef SV_COORD_REMINDER_H
#define SV_COORD_REMINDER_H

#include <jansson.h>
#include <stdint.h>

#include "fhir/rest.h"
#include "coord/watchdog.h"

#define SV_COORD_JOB_CITIZEN_REMINDER "remind-citizen"

/* The first occurrence of a Timing strictly after `after` (ms), or INT64_MIN
 * when there is none (or the form is not supported). */
int64_t sv_coord_timing_next(const json_t *timing, int64_t after);

/* Replaces the plan's unclaimed reminder job with one at the next occurrence
 * after the clock's now (none for a plan that is not active). */
sv_err sv__coord_reminders_schedule(sv_db *db, const char *plan_id, const json_t *plan,
                                    sv_buf *reterr);

/* Runs a claimed reminder job of CarePlan/plan_id due at `due` inside the
 * claiming transaction; *ret_outcome says what happened. */
sv_err sv__coord_reminders_fire(sv_rest *r, const char *plan_id, int64_t due,
                                sv_coord_tick_stats *stats, const char **ret_outcome,
                                sv_buf *reterr);

#endif
