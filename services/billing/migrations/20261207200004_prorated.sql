-- Prorated schedules bill partial periods for the days they cover.
ALTER TABLE billing_schedules ADD COLUMN prorated boolean NOT NULL DEFAULT false;
