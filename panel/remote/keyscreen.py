"""The hardware rig's screen in front of the panel's camera: a QR key shown full screen
(pygame), then taken away (a plain grey screen), as a visitor holds up a phone."""

from __future__ import annotations

import io


class KeyScreen:
    def __init__(self, *, fullscreen: bool = True, size: tuple[int, int] = (800, 600)):
        import pygame
        self.pygame = pygame
        pygame.display.init()
        flags = pygame.FULLSCREEN if fullscreen else 0
        self.surface = pygame.display.set_mode((0, 0) if fullscreen else size, flags)
        pygame.display.set_caption("HIL rig: keys for the panel's camera")
        pygame.mouse.set_visible(False)
        self.hide_now()

    async def show(self, png: bytes) -> None:
        """The key, as large as the screen allows, on white (a QR code needs its quiet zone)."""
        pg = self.pygame
        image = pg.image.load(io.BytesIO(png), "key.png")
        w, h = self.surface.get_size()
        side = int(min(w, h) * 0.9)
        image = pg.transform.scale(image, (side, side))
        self.surface.fill((255, 255, 255))
        self.surface.blit(image, ((w - side) // 2, (h - side) // 2))
        pg.display.flip()

    def hide_now(self) -> None:
        self.surface.fill((128, 128, 128))
        self.pygame.display.flip()

    async def hide(self) -> None:
        self.hide_now()

    async def close(self) -> None:
        self.pygame.display.quit()
